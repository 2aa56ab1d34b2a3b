"""Test support shared by every app's tests and e2e/: fixture plugins (`tests.fixtures`,
registered in the root conftest.py) and plain helpers (`tests.localstripe`).

It is not an app: nothing in the product imports it.
"""
