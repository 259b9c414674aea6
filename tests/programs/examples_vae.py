"""A VAE in the manner of PyTorch's examples (reparameterization with randn_like,
binary_cross_entropy(reduction='sum') + KL), tiny sizes. Written for this repo."""
import minitensor as torch
from minitensor import nn, optim
from minitensor.nn import functional as F
torch.manual_seed(1)
class VAE(nn.Module):
    def __init__(self):
        super(VAE, self).__init__()
        self.fc1 = nn.Linear(64, 32); self.fc21 = nn.Linear(32, 4); self.fc22 = nn.Linear(32, 4)
        self.fc3 = nn.Linear(4, 32); self.fc4 = nn.Linear(32, 64)
    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)
    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5*logvar)
        eps = torch.randn_like(std)
        return mu + eps*std
    def decode(self, z):
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))
    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, 64))
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar
model = VAE()
optimizer = optim.Adam(model.parameters(), lr=1e-3)
def loss_function(recon_x, x, mu, logvar):
    BCE = F.binary_cross_entropy(recon_x, x.view(-1, 64), reduction='sum')
    KLD = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return BCE + KLD
data = torch.rand(16, 1, 8, 8)
for epoch in range(3):
    model.train()
    optimizer.zero_grad()
    recon_batch, mu, logvar = model(data)
    loss = loss_function(recon_batch, data, mu, logvar)
    loss.backward()
    optimizer.step()
    print('epoch', epoch, 'loss {:.4f}'.format(loss.item() / len(data)))
model.eval()
with torch.no_grad():
    sample = torch.randn(8, 4)
    sample = model.decode(sample).cpu()
    print(sample.view(8, 1, 8, 8).shape)
