"""The one loop and its parts: parameterizations, transforms, objectives, recipes, render."""
