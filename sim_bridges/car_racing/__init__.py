"""gymnasium's CarRacing behind the asymmetric API (V-MAIL's third visual task)."""
