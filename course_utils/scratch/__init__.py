"""From-scratch algorithms, each tested equal to a PyTorch or scikit-learn counterpart.

They import only ``course_utils.core``."""
