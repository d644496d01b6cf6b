"""The synthetic study of Bayesian updating across classifiers (thesis sec. 5.4.2) and its
`bayes-sim` command."""
