"""Lesson 01: the fundamentals of machine learning, one small idea per file.

- ``gradient_descent``: training as walking downhill on a loss.
- ``points``: toy 2-D data (clouds of points around centres).
- ``logistic_regression``: supervised, discriminative: a line that separates two classes.
- ``kmeans``: unsupervised: groups found in unlabelled points.
- ``bandit``: reinforcement: learning from rewards with epsilon-greedy.
- ``gaussian``: generative: a Gaussian per class that can sample new points.
"""
from course_lib.fundamentals import bandit, gaussian, gradient_descent, kmeans, logistic_regression, points
from course_lib.fundamentals.bandit import BernoulliBandit, epsilon_greedy
from course_lib.fundamentals.gaussian import GaussianClassifier
from course_lib.fundamentals.gradient_descent import LOSS_CURVES, descend_1d, minimize
from course_lib.fundamentals.logistic_regression import LogisticRegression
from course_lib.fundamentals.points import make_blobs, two_blobs

__all__ = [
    "bandit", "gaussian", "gradient_descent", "kmeans", "logistic_regression", "points",
    "BernoulliBandit", "GaussianClassifier", "LOSS_CURVES", "LogisticRegression",
    "descend_1d", "epsilon_greedy", "make_blobs", "minimize", "two_blobs",
]
