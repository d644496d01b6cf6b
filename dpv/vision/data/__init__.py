"""Image classification data sets (thesis 4.3) read by both training and inference."""
