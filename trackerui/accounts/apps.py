from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "trackerui.accounts"
    label = "accounts"
    verbose_name = "Accounts"
