import reflex as rx

config = rx.Config(app_name="cozykart", telemetry_enabled=False, plugins=[])
