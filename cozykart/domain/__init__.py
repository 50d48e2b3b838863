"""The domain: plain Python rules of the league and of money.

Nothing here imports the app's other layers, a web framework or a database
library (tests/unit/test_architecture.py keeps it so).
"""
