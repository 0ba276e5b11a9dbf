"""Payment-provider adapters (Alipay, WeChat Pay v3, the local sandbox): signing, verification, payouts.

Import lazily from services: nothing here runs at import time, but the modules pull in `cryptography`.
"""
