"""minitensor.utils: tools around the engine: mt.utils.draw_graph draws an autograd graph;
mt.utils.data has torch.utils.data's Dataset, DataLoader and samplers."""
from . import data
from .graph import Graph, draw_graph

__all__ = ['Graph', 'data', 'draw_graph']
