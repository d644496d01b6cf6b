"""Image classification data sets (thesis 4.3) read by both training and inference:
`datasets.get_dataset` names them all, `cifar` reads the CIFAR archives without trusting them,
`images` holds what every data set builds on."""
