"""REINFORCE in the manner of PyTorch's RL examples (Categorical.sample/log_prob, returns
normalized with std + eps, torch.cat of per-step losses), with made-up states and rewards."""
import numpy as np
import minitensor as torch
import minitensor.nn as nn
import minitensor.nn.functional as F
import minitensor.optim as optim
from minitensor.distributions import Categorical
torch.manual_seed(543)
class Policy(nn.Module):
    def __init__(self):
        super(Policy, self).__init__()
        self.affine1 = nn.Linear(4, 16); self.dropout = nn.Dropout(p=0.6); self.affine2 = nn.Linear(16, 2)
        self.saved_log_probs = []; self.rewards = []
    def forward(self, x):
        x = self.affine1(x); x = self.dropout(x); x = F.relu(x)
        action_scores = self.affine2(x)
        return F.softmax(action_scores, dim=1)
policy = Policy()
optimizer = optim.Adam(policy.parameters(), lr=1e-2)
eps = np.finfo(np.float32).eps.item()
def select_action(state):
    state = torch.from_numpy(state).float().unsqueeze(0)
    probs = policy(state)
    m = Categorical(probs)
    action = m.sample()
    policy.saved_log_probs.append(m.log_prob(action))
    return action.item()
def finish_episode():
    R = 0; policy_loss = []; returns = []
    for r in policy.rewards[::-1]:
        R = r + 0.99 * R
        returns.insert(0, R)
    returns = torch.tensor(returns)
    returns = (returns - returns.mean()) / (returns.std() + eps)
    for log_prob, R in zip(policy.saved_log_probs, returns):
        policy_loss.append(-log_prob * R)
    optimizer.zero_grad()
    policy_loss = torch.cat(policy_loss).sum()
    policy_loss.backward()
    optimizer.step()
    del policy.rewards[:]; del policy.saved_log_probs[:]
    return policy_loss.item()
rng = np.random.default_rng(0)
for ep in range(3):
    for t in range(5):
        a = select_action(rng.standard_normal(4))
        policy.rewards.append(float(a))
    print('ep', ep, round(finish_episode(), 4))
