"""The Porter stemmer, in the variant that NLTK and rouge-score use.

Porter (1980), "An algorithm for suffix stripping", strips English suffixes in
five steps of rewrite rules. A rule ``(cond) S1 -> S2`` replaces the suffix S1
by S2 when the rest of the word, the stem, meets the condition. Conditions use
the measure m of the stem, the number of vowel-consonant transitions in its
form [C](VC){m}[V], where a consonant is a letter other than a, e, i, o, u,
and other than a y after a consonant. In each list, only the first rule whose
suffix matches is tried: if its condition fails, the word stays as it is.

Reference: NLTK's ``nltk.stem.porter.PorterStemmer`` in its default mode
``NLTK_EXTENSIONS``, which ``rouge_score.tokenizers.DefaultTokenizer`` builds.
The tests check every word of the shared data sets against it. That mode adds
these changes to Martin Porter's published rules:

- Fixed stems for a few irregular words (sky, skies, dying, lying, tying,
  news, innings, outings, cannings, howe, proceed, exceed, succeed).
- Words of one or two characters are returned lowercased and unstemmed.
- Step 1a: a four-letter word in -ies keeps -ie (ties -> tie).
- Step 1b: -ied becomes -ie in four-letter words and -i otherwise.
- Step 1c: y becomes i only after a consonant that is not the first letter.
- Step 2: -alli -> -al runs first and restarts step 2. -bli -> -ble,
  -fulli -> -ful and -logi -> -log (when m of the stem plus "l" is above 0)
  join the list.
- A two-letter stem of vowel then consonant also counts as ending in
  consonant-vowel-consonant (condition *o).

Limitations:
    - Meant for English words. Other characters count as consonants, like in
      NLTK, so results for other scripts carry no meaning.
    - ``stem`` lowercases with ``str.lower``, as NLTK does.
"""

from collections.abc import Callable

# NLTK_EXTENSIONS looks these words up instead of stemming them.
IRREGULAR_STEMS = {
    "sky": "sky", "skies": "sky", "dying": "die", "lying": "lie", "tying": "tie", "news": "news",
    "innings": "inning", "inning": "inning", "outings": "outing", "outing": "outing",
    "cannings": "canning", "canning": "canning", "howe": "howe",
    "proceed": "proceed", "exceed": "exceed", "succeed": "succeed",
}

VOWELS = frozenset("aeiou")

# A rule: suffix, replacement, and the condition on the stem left after removing the suffix.
Rule = tuple[str, str, Callable[[str], bool]]


def _consonant_flags(word: str) -> list[bool]:
    """Mark each letter True for a consonant, where y is a consonant at the start or after a vowel."""
    flags: list[bool] = []
    for index, letter in enumerate(word):
        if letter in VOWELS:
            flags.append(False)
        elif letter == "y":
            flags.append(index == 0 or not flags[index - 1])
        else:
            flags.append(True)
    return flags


def _measure(stem: str) -> int:
    """Count the vowel-to-consonant transitions: m in [C](VC){m}[V]."""
    flags = _consonant_flags(stem)
    return sum(1 for before, after in zip(flags, flags[1:]) if not before and after)


def _positive_measure(stem: str) -> bool:
    return _measure(stem) > 0


def _measure_above_one(stem: str) -> bool:
    return _measure(stem) > 1


def _contains_vowel(stem: str) -> bool:
    return not all(_consonant_flags(stem))


def _ends_double_consonant(word: str) -> bool:
    return len(word) >= 2 and word[-1] == word[-2] and _consonant_flags(word)[-1]


def _ends_cvc(word: str) -> bool:
    """Condition *o: the stem ends consonant-vowel-consonant, the last not w, x or y."""
    flags = _consonant_flags(word)
    if len(word) >= 3 and flags[-3] and not flags[-2] and flags[-1] and word[-1] not in "wxy":
        return True
    return len(word) == 2 and not flags[0] and flags[1]


def _apply_first_rule(word: str, rules: list[Rule]) -> str:
    """Apply the first rule whose suffix ends ``word``, or none if that rule's condition fails."""
    for suffix, replacement, condition in rules:
        if word.endswith(suffix):
            stem = word[:len(word) - len(suffix)]
            return stem + replacement if condition(stem) else word
    return word


def _always(stem: str) -> bool:
    return True


STEP_1A: list[Rule] = [("sses", "ss", _always), ("ies", "i", _always), ("ss", "ss", _always), ("s", "", _always)]

STEP_2: list[Rule] = [
    (suffix, replacement, _positive_measure) for suffix, replacement in [
        ("ational", "ate"), ("tional", "tion"), ("enci", "ence"), ("anci", "ance"), ("izer", "ize"),
        ("bli", "ble"), ("alli", "al"), ("entli", "ent"), ("eli", "e"), ("ousli", "ous"),
        ("ization", "ize"), ("ation", "ate"), ("ator", "ate"), ("alism", "al"), ("iveness", "ive"),
        ("fulness", "ful"), ("ousness", "ous"), ("aliti", "al"), ("iviti", "ive"), ("biliti", "ble"),
        ("fulli", "ful"),
    ]
] + [("logi", "log", lambda stem: _positive_measure(stem + "l"))]

STEP_3: list[Rule] = [
    (suffix, replacement, _positive_measure) for suffix, replacement in [
        ("icate", "ic"), ("ative", ""), ("alize", "al"), ("iciti", "ic"), ("ical", "ic"), ("ful", ""),
        ("ness", ""),
    ]
]

STEP_4: list[Rule] = [
    (suffix, "", _measure_above_one) for suffix in ["al", "ance", "ence", "er", "ic", "able", "ible", "ant",
                                                    "ement", "ment", "ent"]
] + [("ion", "", lambda stem: _measure_above_one(stem) and stem[-1] in "st")] + [
    (suffix, "", _measure_above_one) for suffix in ["ou", "ism", "ate", "iti", "ous", "ive", "ize"]
]


def _step_1a(word: str) -> str:
    if len(word) == 4 and word.endswith("ies"):
        return word[:-1]
    return _apply_first_rule(word, STEP_1A)


def _step_1b(word: str) -> str:
    """Remove -eed, -ed and -ing, then repair the stem so later steps see -ate, -ble, -ize or -e."""
    if word.endswith("ied"):
        return word[:-1] if len(word) == 4 else word[:-2]
    if word.endswith("eed"):
        stem = word[:-3]
        return stem + "ee" if _positive_measure(stem) else word

    for suffix in ("ed", "ing"):
        if word.endswith(suffix) and _contains_vowel(word[:-len(suffix)]):
            stem = word[:-len(suffix)]
            break
    else:
        return word

    # For example hopp(ing) -> hop but fall(ing) -> fall, and fil(ing) -> file.
    if stem.endswith(("at", "bl", "iz")):
        return stem + "e"
    if _ends_double_consonant(stem):
        return stem[:-1] if stem[-1] not in "lsz" else stem
    if _measure(stem) == 1 and _ends_cvc(stem):
        return stem + "e"
    return stem


def _step_1c(word: str) -> str:
    if word.endswith("y") and len(word) > 2 and _consonant_flags(word[:-1])[-1]:
        return word[:-1] + "i"
    return word


def _step_2(word: str) -> str:
    if word.endswith("alli") and _positive_measure(word[:-4]):
        return _step_2(word[:-2])
    return _apply_first_rule(word, STEP_2)


def _step_5a(word: str) -> str:
    """Drop a final e when m > 1, or when m = 1 and the stem does not end consonant-vowel-consonant."""
    if not word.endswith("e"):
        return word
    stem = word[:-1]
    measure = _measure(stem)
    if measure > 1 or (measure == 1 and not _ends_cvc(stem)):
        return stem
    return word


def _step_5b(word: str) -> str:
    if word.endswith("ll") and _measure_above_one(word[:-1]):
        return word[:-1]
    return word


def stem(word: str) -> str:
    """Return the Porter stem of ``word``, lowercased, as NLTK's default ``PorterStemmer().stem`` does."""
    lowered = word.lower()
    if lowered in IRREGULAR_STEMS:
        return IRREGULAR_STEMS[lowered]
    # NLTK tests the length before lowercasing, which can lengthen a word ("İ" becomes two characters).
    if len(word) <= 2:
        return lowered

    result = _step_1a(lowered)
    result = _step_1b(result)
    result = _step_1c(result)
    result = _step_2(result)
    result = _apply_first_rule(result, STEP_3)
    result = _apply_first_rule(result, STEP_4)
    result = _step_5a(result)
    return _step_5b(result)
