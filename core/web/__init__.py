"""The HTTP edge: middleware, CSP, the kiosk's endpoints, login and language views, the admin's
sidebar and branding. Views here only parse, call services and answer; the rules live in
``core/services``.
"""
