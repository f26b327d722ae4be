"""SMTP e-mail (UTF-8, zh-CN). The Message-ID is derived from the delivery id: a message resent
after a worker died between the server's 250 and the database commit carries the same id."""
from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import formatdate

from service.channels.config import ChannelSettings


def send(cfg: ChannelSettings, *, to: str, subject: str, body: str, message_id: str) -> None:
    if not cfg.smtp_host:
        raise RuntimeError("未配置 SMTP 服务器（GOVFLOW_SMTP_HOST）")
    msg = EmailMessage()
    msg["From"] = cfg.smtp_from
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = message_id
    msg.set_content(body, charset="utf-8")
    with smtplib.SMTP(cfg.smtp_host, cfg.smtp_port, timeout=cfg.timeout_seconds) as smtp:
        if cfg.smtp_starttls:
            smtp.starttls()
        if cfg.smtp_user:
            smtp.login(cfg.smtp_user, cfg.smtp_password)
        smtp.send_message(msg)
