"""The web pages (zh-CN) for departments, supervisors and process designers.

Pages are thin shells: the server checks who may open a page and renders the layout; the page's
script reads and writes through the same /api the integrations use, so every rule (roles, units,
form validation, articles of the measures) is enforced in one place, the service layer."""
from service.web.pages import bp

__all__ = ["bp"]
