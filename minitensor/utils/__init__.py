"""minitensor.utils: tools around the engine (mt.utils.draw_graph draws an autograd graph)."""
from .graph import Graph, draw_graph

__all__ = ['Graph', 'draw_graph']
