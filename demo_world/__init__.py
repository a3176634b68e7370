"""A synthetic Qinghai: the six landing feeds of Counterfeit Radar plus the ground truth behind them."""
