"""Passwords that are long enough but guessed first: the most frequent ones of eight
characters or more in published password leaks, Chinese sites' included, and the ones people
make from this service's own words.

They are compared after :func:`normalise` (lower case, no spaces), so ``Password 123`` is
refused as ``password123``.
"""

from __future__ import annotations


def normalise(password: str) -> str:
    """``password`` as compared with the list: lower case, without white space."""
    return "".join(password.lower().split())


COMMON_PASSWORDS = frozenset(
    {
        # Digits and keyboard walks
        "12345678", "123456789", "1234567890", "12345678910", "123123123", "1234512345",
        "11111111", "111111111", "1111111111", "00000000", "0000000000", "88888888",
        "8888888888", "66666666", "6666666666", "99999999", "12341234", "11223344",
        "147258369", "1234567890a", "0123456789", "9876543210", "987654321", "5201314520",
        "1314520520", "5211314521", "a123456789", "aa12345678", "abc123456", "abc1234567",
        "abcd1234", "abcd12345", "abcd123456", "a1234567", "a12345678", "1234qwer",
        "12345qwert", "123456abc", "123456aa", "123456qq", "qq123456", "qq1234567",
        "qwertyuiop", "qwerty123", "qwerty1234", "qwerty123456", "qwer1234", "1qaz2wsx",
        "1qaz2wsx3edc", "1q2w3e4r", "1q2w3e4r5t", "1q2w3e4r5t6y", "zaq12wsx", "zxcvbnm123",
        "asdfghjkl", "asdf1234", "asdfasdf", "qazwsxedc", "qweasdzxc", "qwe123456",
        "!qaz2wsx", "aaaaaaaa", "aaaaaaaaaa", "abcdefgh", "abcdefghij", "abcdefg123",
        # Words
        "password", "password1", "password12", "password123", "password1234", "passw0rd",
        "p@ssw0rd", "p@ssword", "p@ssword123", "passwort", "iloveyou", "iloveyou1",
        "iloveyou12", "woaini1314", "woaini520", "woaini123", "woaiwojia", "wangyut2",
        "sunshine", "sunshine1", "princess", "football", "baseball", "superman", "starwars",
        "trustno1", "whatever", "welcome1", "welcome123", "changeme", "changeme123",
        "letmein1", "letmein123", "administrator", "admin123", "admin1234", "admin12345",
        "admin@123", "root1234", "test1234", "test12345", "testtest", "guest123",
        "computer", "internet", "michael1", "jennifer", "1qazxsw2", "zhang123456",
        "li123456", "wang123456", "liu123456", "chen123456", "zhangwei", "wangwei123",
        "correcthorsebatterystaple", "default123", "secret123", "user1234", "login123",
        # This service's words
        "childcare", "childcare1", "childcare123", "training123", "teacher123",
        "nanjing123", "nanjing2024", "nanjing2025", "nanjing2026", "njlms2026",
        "lms123456", "lmspassword", "trainee123", "trainee1234", "caregiver1",
        "nursery123", "yuer123456", "tuoyu123456", "baobao123", "baobei123",
    }
)  # fmt: skip
