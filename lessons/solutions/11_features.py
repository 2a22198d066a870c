"""Solutions to the exercises of lesson 11."""
import numpy as np


def pool_to_grid_by_hand(maps, grid):
    n, c, h, w = maps.shape
    return maps.reshape(n, c, grid, h // grid, grid, w // grid).mean(axis=(3, 5))


def standardize(train_x, test_x):
    mu, sd = train_x.mean(axis=0), train_x.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    return (train_x - mu) / sd, (test_x - mu) / sd
