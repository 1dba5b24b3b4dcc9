from django.conf import settings


def test_settings_load_with_the_display_time_zone_and_both_languages():
    assert settings.USE_TZ is True
    assert settings.TIME_ZONE == "Asia/Shanghai"
    assert [code for code, _ in settings.LANGUAGES] == ["en", "zh-hans"]
