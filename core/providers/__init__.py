"""Outside systems behind small interfaces, each with a timeout and typed errors: ``whatsapp``
(UltraMsg and the console provider), ``whatsapp_cloud`` (Meta's Cloud API) and ``sms`` (a generic
HTTP gateway). Tests talk to real HTTP stand-ins on 127.0.0.1."""
