"""What the tests share: helpers live here and only here, one module a topic.

Test modules and conftest files import from this package; nothing here imports from a test
module or a conftest file (tests/test_support_rules.py holds both rules).
"""
