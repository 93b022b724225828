"""Bonus Engine: the loyalty bonus service of the VilkiNet restaurants.

The app factory is `bonus_service.app.create_app`; this file imports nothing, so a service
module can be imported without the web stack.
"""
