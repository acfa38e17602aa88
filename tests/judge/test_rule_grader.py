"""The deterministic ``rule`` grader on an adversarial table of (class, gold, prediction, expected grade) cases.

Expected grades follow SimpleQA's grading rules (METHOD 3.2); where a case is open to reading, its comment says
which reading was taken. ``benchmarks/bench_rule_grader.py`` reports agreement per class from this table.
"""

from __future__ import annotations

from collections import Counter
from typing import NamedTuple

import pytest

from knowrl.judge.rule_facts import lexical_support, split_facts
from knowrl.judge.rule_grader import keyword_prefilter, normalize, parse_dates, quantities, rule_grade
from knowrl.judge.types import Grade

C, I, N = Grade.CORRECT, Grade.INCORRECT, Grade.NOT_ATTEMPTED


class Case(NamedTuple):
    """One graded answer; ``question`` only where SimpleQA lets the question imply part of the gold."""

    cls: str
    gold: str
    prediction: str
    expected: Grade
    question: str | None = None


CLASSES = ("names", "partial-names", "digits-in-tokens", "numbers", "number-precision", "units", "dates",
           "dates-other-formats", "cjk", "hedge-before", "hedge-after", "negation", "two-guesses", "refusals",
           "evasions")

CASES = [
    # -- names: plain text answers --
    Case("names", "Paris", "Paris", C),  # exact
    Case("names", "Paris", "paris.", C),  # case and punctuation
    Case("names", "Paris", "The capital is Paris, on the Seine.", C),  # extra context is fine
    Case("names", "Paris", "London", I),  # a different answer
    Case("names", "Paris", "Parisian", I),  # naive substring says CORRECT: a different word
    Case("names", "The Beatles", "Beatles", C),  # article dropped
    Case("names", "Barack Obama", "barak obama", C),  # small misspelling of a name
    Case("names", "Barack Obama", "Obama, Barack", C),  # word order
    Case("names", "Gabriel García Márquez", "Gabriel Garcia Marquez", C),  # accents folded
    Case("names", "Zürich", "Zurich", C),  # umlaut folded
    Case("names", "United States", "the U.S.", C),  # initials in capitals
    Case("names", "USA", "the United States of America", C),  # the other way round
    Case("names", "NASA", "National Aeronautics and Space Administration", C),  # stop words have no initial
    Case("names", "USA", "the U.S.A.", C),  # dotted abbreviation
    Case("names", "Rock & Roll", "rock and roll", C),  # ampersand
    Case("names", "Jupiter", "It's Jupiter, the largest planet.", C),  # contraction around the gold
    Case("names", "Leonardo da Vinci", "Leonardo da Vinci painted it", C),  # the gold inside a sentence
    Case("names", "apples", "apple", C),  # plural
    Case("names", "Tokyo | Edo", "Edo", C),  # alias
    Case("names", "Tokyo; Edo", "It was called Edo", C),  # alias after ';'
    Case("names", "Charles Dickens", "Dickens, Charles John Huffam", C),  # full name, other order
    Case("names", "Austria", "Austria-Hungary", I),  # naive substring says CORRECT: another state
    Case("names", "Austria", "Australia", I),  # close spelling, different length: another country
    Case("names", "Jean-Paul Sartre", "Jean Paul Sartre", C),  # hyphen or space
    Case("names", "Coca-Cola", "Coca Cola", C),  # hyphen or space
    Case("names", "Iran", "Iraq", I),  # short names are never fuzzy-matched
    Case("names", "Tchaikovsky", "Tschaikowsky", C),  # transliteration typo of a name (SimpleQA allows)
    Case("names", "Potter", "Scott Porter", I),  # one short word: a close spelling is another name
    Case("names", "Charlie", "Josh Charles", I),  # same
    # -- partial-names: essential parts (SimpleQA: incomplete is INCORRECT unless the question implies it) --
    Case("partial-names", "George Washington", "Denzel Washington", I),  # same surname, other person
    Case("partial-names", "George Washington", "Washington", I),  # first name missing, no question to imply it
    Case("partial-names", "Pacific Ocean", "the Pacific", I),  # no question given: 'Ocean' is not presumed
    Case("partial-names", "Pacific Ocean", "the Pacific", C, "Which ocean is the largest?"),  # the question says it
    Case("partial-names", "Michelle Obama", "Michelle", C, "What is the name of Barack Obama's wife?"),  # SimpleQA
    Case("partial-names", "Michelle Obama", "Michelle", I),  # without the question the surname is missing
    Case("partial-names", "Outstanding Paper Award", "Outstanding Paper", C,
         "What award did the paper win at NAACL '24?"),  # SimpleQA's example: 'award' is in the question
    Case("partial-names", "Malia and Sasha", "Malia.", I),  # SimpleQA: significantly incomplete
    Case("partial-names", "Malia and Sasha", "sasha and malia obama", C),  # SimpleQA: order and surname free
    Case("partial-names", "New York City", "New York", I),  # 'City' is essential (the state is New York too)
    Case("partial-names", "Mount Everest", "Everest", I),  # strict without a question naming the mountain
    Case("partial-names", "Hyung Won Chung", "Hyungwon Chung", C),  # SimpleQA's name example: spacing
    Case("partial-names", "Hyung Won Chung", "Hyun Won Chung", C),  # SimpleQA's name example: a typo
    Case("partial-names", "Hyung Won Chung", "Hyung Won Park", I),  # surname wrong
    Case("partial-names", "Sartre", "Jean-Paul Sartre", C),  # more than the gold is fine
    # -- digits-in-tokens: codes and names with digits are matched whole --
    Case("digits-in-tokens", "3rd", "3rd", C),  # ordinal
    Case("digits-in-tokens", "3rd", "third place", C),  # ordinal word
    Case("digits-in-tokens", "3rd", "33rd", I),  # naive substring says CORRECT
    Case("digits-in-tokens", "3rd", "13th", I),  # another ordinal
    Case("digits-in-tokens", "H2O", "H2O", C),  # formula
    Case("digits-in-tokens", "H2O", "It's H2O, water.", C),  # formula in a sentence
    Case("digits-in-tokens", "H2O", "H2O2", I),  # naive substring says CORRECT: hydrogen peroxide
    Case("digits-in-tokens", "H2O", "HO2", I),  # same letters and digit, other formula
    Case("digits-in-tokens", "MP3", "MP3", C),  # format name
    Case("digits-in-tokens", "MP3", "the mp3 format", C),  # lower case
    Case("digits-in-tokens", "MP3", "MP4", I),  # another format
    Case("digits-in-tokens", "U2", "U2", C),  # band name
    Case("digits-in-tokens", "U2", "U23", I),  # naive substring says CORRECT
    Case("digits-in-tokens", "U2", "UB40", I),  # another band
    Case("digits-in-tokens", "1990s", "the 1990s", C),  # decade
    Case("digits-in-tokens", "1990s", "in the '90s", C),  # short decade
    Case("digits-in-tokens", "1990s", "1995", C),  # a year inside the decade is more precise
    Case("digits-in-tokens", "1990s", "the 1980s", I),  # another decade
    Case("digits-in-tokens", "1990s", "1990", C),  # the decade's first year is inside it
    Case("digits-in-tokens", "COVID-19", "COVID-19", C),  # disease name
    Case("digits-in-tokens", "COVID-19", "covid 19", C),  # space for the hyphen
    Case("digits-in-tokens", "COVID-19", "COVID", I),  # the number is part of the name
    Case("digits-in-tokens", "COVID-19", "SARS-CoV-2", I),  # the virus, not the disease
    Case("digits-in-tokens", "7-Eleven", "7-Eleven", C),  # company name
    Case("digits-in-tokens", "7-Eleven", "Seven-Eleven", C),  # number spelt out
    Case("digits-in-tokens", "7-Eleven", "between 7 and 11", I),  # a name, not a range of numbers
    Case("digits-in-tokens", "F-16", "F-16", C),  # aircraft
    Case("digits-in-tokens", "F-16", "F16", C),  # hyphen left out
    Case("digits-in-tokens", "F-16", "F-15", I),  # another aircraft
    Case("digits-in-tokens", "B-52", "B-52 Stratofortress", C),  # full name
    Case("digits-in-tokens", "B-52", "B-2", I),  # naive number match on '2' fails it the other way
    Case("digits-in-tokens", "Catch-22", "Catch 22", C),  # title with a space
    Case("digits-in-tokens", "R2-D2", "R2D2", C),  # droid without hyphen
    Case("digits-in-tokens", "Apollo 11", "Apollo 11", C),  # mission
    Case("digits-in-tokens", "Apollo 11", "Apollo 13", I),  # another mission
    Case("digits-in-tokens", "Apollo 11", "Gemini 11", I),  # same number, other programme
    Case("digits-in-tokens", "Apollo 11", "Apollo 11, in 1969", C),  # an extra number elsewhere is fine
    Case("digits-in-tokens", "Windows 95", "Windows 98", I),  # another version
    Case("digits-in-tokens", "iPhone 4S", "iPhone 4", I),  # the suffix is part of the model
    Case("digits-in-tokens", "2 Broke Girls", "Two Broke Girls", C),  # number word in a title
    Case("digits-in-tokens", "Ocean's Eleven", "Ocean's 11", C),  # possessive and number
    # -- numbers --
    Case("numbers", "42", "42", C),  # exact
    Case("numbers", "42", "The answer is 42.", C),  # in a sentence
    Case("numbers", "42", "43", I),  # off by one
    Case("numbers", "42", "forty", I),  # number word, wrong
    Case("numbers", "42", "forty-two", C),  # compound number word
    Case("numbers", "three", "3", C),  # number word gold
    Case("numbers", "3", "three", C),  # number word prediction
    Case("numbers", "2", "twice", C),  # 'twice' counts two
    Case("numbers", "1,234", "1234", C),  # thousands separator
    Case("numbers", "3.14", "3.14159", C),  # more precise than the gold: rounds to the gold's precision
    Case("numbers", "2.5", "2.50", C),  # trailing zero
    Case("numbers", "2.5", "2.6", I),  # wrong at the gold's precision
    Case("numbers", "120k", "124,000", C),  # SimpleQA: rounds to 120k
    Case("numbers", "120k", "115k", C),  # SimpleQA: rounds to 120k
    Case("numbers", "120k", "113,000", I),  # SimpleQA: 113k is INCORRECT
    Case("numbers", "120,000", "about 124 thousand", C),  # an approximation right at the gold's precision
    Case("numbers", "2 million", "2.4 million", C),  # rounds to 2 million
    Case("numbers", "2 million", "2.6 million", I),  # rounds to 3 million
    Case("numbers", "100", "149", I),  # small integers are exact
    Case("numbers", "12", "112", I),  # naive substring says CORRECT
    Case("numbers", "5", "15", I),  # naive substring says CORRECT
    Case("numbers", "1990", "1990", C),  # a year is exact
    Case("numbers", "1990", "1994", I),  # a year is never rounded
    Case("numbers", "2002–03", "the 2002-2003 season", C),  # a season written two ways
    Case("numbers", "1995–1998", "from 1995 to 1998", C),  # a gold span, the same span
    Case("numbers", "1995–1998", "1998", I),  # one end of the gold span is incomplete
    # -- number-precision: less precise than the gold (SimpleQA: 'around 100k' and 'more than 50k' for 120k are
    #    NOT_ATTEMPTED: they neither confirm nor contradict; a truncated value stated as the answer is INCORRECT) --
    Case("number-precision", "1987", "the 1980s", N),  # a decade holding the year: consistent, not precise
    Case("number-precision", "1987", "in the late 80s", N),  # short decade holding it
    Case("number-precision", "1987", "the 1990s", I),  # a decade that contradicts it
    Case("number-precision", "1987", "the 20th century", N),  # a century holding it
    Case("number-precision", "1987", "around 1990", N),  # an approximation consistent with it
    Case("number-precision", "1987", "around 1995", I),  # 'around 1995' claims the year: contradicts
    Case("number-precision", "1987", "1990", I),  # a bare year is a claim: wrong
    Case("number-precision", "1987", "circa 1987", C),  # approximate wording, exact value
    Case("number-precision", "1987", "1980-1990", N),  # a range holding it
    Case("number-precision", "120k", "around 100k", N),  # SimpleQA's example
    Case("number-precision", "120k", "more than 50k", N),  # SimpleQA's example
    Case("number-precision", "120k", "more than 200k", I),  # a bound that contradicts it
    Case("number-precision", "120k", "less than 1 million", N),  # an upper bound holding it
    Case("number-precision", "120k", "100k", I),  # SimpleQA's example: a wrong value
    Case("number-precision", "3", "between 3 and 5", N),  # a range holding the gold is not a value
    Case("number-precision", "3", "3-5", N),  # the same range with a dash
    Case("number-precision", "3", "between 4 and 6", I),  # a range that excludes it
    Case("number-precision", "3.14159", "3.14", I),  # truncated, stated as the answer
    Case("number-precision", "3.14", "about 3", N),  # approximately right at its own precision
    Case("number-precision", "8848", "about 8,800", N),  # consistent to the hundred
    Case("number-precision", "8848", "about 8,000", I),  # 8848 is about 9,000, not 8,000
    Case("number-precision", "1.73 m", "1.7 m", I),  # truncated height stated as the answer
    Case("number-precision", "1.73 m", "about 1.7 m", N),  # approximately right
    Case("number-precision", "4", "4 or more", N),  # a lower bound holding the gold is no value
    Case("number-precision", "300", "300左右", C),  # 'about 300' in Chinese: right at the gold's precision
    # -- units: converted within a dimension; a missing unit is presumed (SimpleQA) --
    Case("units", "7 km", "7 kilometres", C),  # spelt-out unit
    Case("units", "7 km", "7000 m", C),  # converted
    Case("units", "7 km", "7 miles", I),  # another unit: 11 km
    Case("units", "7 km", "7", C),  # unit presumed from the question
    Case("units", "5%", "5 percent", C),  # percent
    Case("units", "5%", "5 per cent", C),  # percent in two words
    Case("units", "3 hours", "180 minutes", C),  # time converted
    Case("units", "2 years", "24 months", C),  # time converted
    Case("units", "10 years", "10 months", I),  # same number, other unit
    Case("units", "$5 million", "5 million dollars", C),  # currency symbol or word
    Case("units", "$5 million", "€5 million", I),  # another currency
    Case("units", "$5 million", "5 million", C),  # currency presumed
    Case("units", "100 kg", "100 lbs", I),  # 45 kg
    Case("units", "1.73 m", "173 cm", C),  # converted
    Case("units", "42 people", "42", C),  # a count word is not a unit to convert
    Case("units", "26.2 miles", "42.2 km", C),  # marathon, converted and rounded to the gold's precision
    Case("units", "6 feet", "1.83 m", C),  # converted and rounded
    Case("units", "Five years", "August 5, 1994", I),  # the 5 of a date is a day, not a duration
    # -- dates --
    Case("dates", "1776", "July 4, 1776", C),  # the year inside a full date
    Case("dates", "July 4, 1776", "4th of July 1776", C),  # day first
    Case("dates", "July 4, 1776", "1776-07-04", C),  # ISO
    Case("dates", "July 4, 1776", "July 1776", I),  # the day is missing: incomplete
    Case("dates", "July 4, 1776", "July 5, 1776", I),  # another day
    Case("dates", "July 4, 1776", "1776", I),  # month and day missing: incomplete
    Case("dates", "July 4, 1776", "July 4", I),  # the year is missing: incomplete
    Case("dates", "July 4, 1776", "the 1770s", N),  # a decade holding it: less precise, consistent
    Case("dates", "March 1999", "March 1999", C),  # month and year
    Case("dates", "March 1999", "Mar. 1999", C),  # abbreviated month
    Case("dates", "March 1999", "April 1999", I),  # another month
    Case("dates", "12 May 2001", "May 12th, 2001", C),  # day after month
    Case("dates", "12 May 2001", "Sept 12, 2001", I),  # another month
    # -- dates-other-formats --
    Case("dates-other-formats", "March 1999", "in March of 1999", C),  # 'of' between month and year
    Case("dates-other-formats", "July 4, 1776", "the fourth of July, 1776", C),  # ordinal word day
    Case("dates-other-formats", "July 4, 1776", "7/4/1776", C),  # US numeric
    Case("dates-other-formats", "July 4, 1776", "4/7/1776", C),  # European numeric
    Case("dates-other-formats", "July 4, 1776", "4.7.1776", C),  # dotted numeric
    Case("dates-other-formats", "July 4, 1776", "1776/07/04", C),  # year first with slashes
    Case("dates-other-formats", "July 4, 1776", "1776年7月4日", C),  # Chinese date
    Case("dates-other-formats", "July 4, 1776", "July 4th 1776", C),  # no comma
    Case("dates-other-formats", "July 4, 1776", "Jul. 4, 1776", C),  # abbreviated month
    Case("dates-other-formats", "July 4, 1776", "13/7/1776", I),  # only one reading (July 13): wrong day
    Case("dates-other-formats", "July 4, 1776", "5/7/1776", I),  # May 7 or July 5: neither
    Case("dates-other-formats", "1949年10月1日", "October 1st, 1949", C),  # Chinese gold, English answer
    Case("dates-other-formats", "1949年10月1日", "1949年10月", I),  # the day is missing
    Case("dates-other-formats", "September 11, 2001", "9/11/2001", C),  # US numeric
    Case("dates-other-formats", "2001-09-11", "11 September 2001", C),  # ISO gold
    # -- cjk: no spaces; characters, full-width forms, Chinese refusals and negations --
    Case("cjk", "北京", "北京", C),  # exact
    Case("cjk", "北京", "中国的首都是北京。", C),  # inside a sentence without spaces
    Case("cjk", "北京", "南京", I),  # one character differs
    Case("cjk", "北京", "上海", I),  # another city
    Case("cjk", "北京", "我不知道", N),  # I don't know
    Case("cjk", "北京", "不确定", N),  # unsure
    Case("cjk", "北京", "抱歉，我无法回答这个问题。", N),  # sorry, I cannot answer this question
    Case("cjk", "北京", "没有足够的信息来确定。", N),  # not enough information to determine
    Case("cjk", "北京", "我不确定，可能是上海", I),  # unsure, maybe Shanghai: a wrong guess
    Case("cjk", "北京", "我不确定，可能是北京", C),  # unsure, maybe Beijing: hedged right
    Case("cjk", "北京", "我不太确定是不是北京", C),  # not quite sure whether it is Beijing: hedged right
    Case("cjk", "北京", "不是北京，是上海", I),  # not Beijing, Shanghai
    Case("cjk", "北京", "是北京，不是上海", C),  # Beijing, not Shanghai
    Case("cjk", "北京", "北京或上海", I),  # Beijing or Shanghai
    Case("cjk", "北京", "可能是北京，也可能是上海", I),  # maybe Beijing, maybe Shanghai
    Case("cjk", "秦始皇", "秦朝的开国皇帝是秦始皇。", C),  # name inside a sentence
    Case("cjk", "秦始皇", "汉武帝", I),  # another emperor
    Case("cjk", "H2O", "水的化学式是H2O。", C),  # Latin code inside Chinese text
    Case("cjk", "1949年", "1949年", C),  # year with 年
    Case("cjk", "1949年", "1949", C),  # 年 is a count word, not required
    Case("cjk", "1949年", "于1949年成立", C),  # digits glued to characters
    Case("cjk", "1949年", "1950年", I),  # another year
    Case("cjk", "2008", "２００８年", C),  # full-width digits
    Case("cjk", "USA", "ＵＳＡ", C),  # full-width letters
    Case("cjk", "3万", "30000", C),  # 万 multiplies by ten thousand
    # -- hedge-before: a hedge, then the answer --
    Case("hedge-before", "Paris", "I am not sure, maybe Paris", C),  # hedged right is CORRECT
    Case("hedge-before", "Paris", "I'm not sure, perhaps Lyon.", I),  # hedged wrong is INCORRECT
    Case("hedge-before", "Paris", "Not sure, but I think Paris", C),  # 'not' of the hedge negates nothing
    Case("hedge-before", "Paris", "I don't know for certain, but probably Paris", C),  # hedge then answer
    Case("hedge-before", "Paris", "I can't be certain, but it's Paris", C),  # refusal wording then answer
    Case("hedge-before", "Paris", "Hard to say, maybe Paris", C),  # evasion wording then answer
    Case("hedge-before", "Paris", "I'm not 100% sure, Paris?", C),  # question mark
    Case("hedge-before", "Paris", "I'm not sure it's Paris", C),  # unsure of the gold: hedged right
    Case("hedge-before", "Paris", "I don't know if it's Paris", C),  # same, with 'don't know'
    Case("hedge-before", "Paris", "I don't know if it's Lyon", I),  # a guess inside refusal wording
    Case("hedge-before", "Paris", "I can't say for sure, but it might be Lyon", I),  # hedged wrong
    Case("hedge-before", "Paris", "To the best of my knowledge, Lyon", I),  # hedged wrong
    Case("hedge-before", "Paris", "Maybe Lyon?", I),  # hedged wrong
    Case("hedge-before", "1945", "I believe it was 1945.", C),  # hedged right number
    Case("hedge-before", "1945", "probably 1944", I),  # hedged wrong number
    # -- hedge-after: the answer, then a hedge --
    Case("hedge-after", "Paris", "I think it's Paris, but I'm not sure.", C),  # hedged right
    Case("hedge-after", "Paris", "Paris, though I could be wrong", C),  # hedged right
    Case("hedge-after", "Paris", "Paris? I don't know.", C),  # hedged right
    Case("hedge-after", "Paris", "I think it's Paris, but maybe I'm wrong", C),  # 'maybe' starts no second guess
    Case("hedge-after", "Paris", "Paris, I believe, but please verify", C),  # hedged right
    Case("hedge-after", "Paris", "Lyon, but I'm not certain", I),  # hedged wrong
    Case("hedge-after", "Paris", "Lyon I think, not sure", I),  # hedged wrong
    Case("hedge-after", "1945", "1945, if I remember correctly", C),  # hedged right number
    Case("hedge-after", "Malia and Sasha",
         "most people would say Malia and Sasha, but I'm not sure and would have to double check", C),  # SimpleQA
    # -- negation --
    Case("negation", "Mars", "It's not Mars, it's Venus.", I),  # negated gold
    Case("negation", "Paris", "Not Paris", I),  # bare negation
    Case("negation", "Paris", "It isn't Paris.", I),  # contraction
    Case("negation", "Paris", "Definitely not Paris; it's Lyon", I),  # negation with adverb
    Case("negation", "Paris", "Lyon, not Paris", I),  # gold negated after the answer
    Case("negation", "Paris", "Paris, not Lyon", C),  # another city negated
    Case("negation", "Paris", "It is not Lyon, it is Paris", C),  # negation in another clause
    Case("negation", "Paris", "Not Lyon but Paris", C),  # 'but' ends the negated clause
    Case("negation", "Paris", "Lyon rather than Paris", I),  # 'rather than' negates
    Case("negation", "Paris", "I don't think it's Paris", I),  # disbelief in the gold contradicts it
    Case("negation", "Paris", "Neither Paris nor Lyon", I),  # both negated
    Case("negation", "Paris", "Paris is not in Germany", C),  # negation after the gold
    Case("negation", "Not Fade Away", "Not Fade Away", C),  # the gold itself starts with 'not'
    Case("negation", "Not Fade Away", "It's not 'Not Fade Away'", I),  # negated title
    Case("negation", "1945", "not 1945", I),  # negated number
    # -- two-guesses: several candidates that are not all the gold are INCORRECT --
    Case("two-guesses", "Mars", "Mars or Venus", I),  # two candidates
    Case("two-guesses", "Mars", "either Venus or Mars", I),  # either/or
    Case("two-guesses", "3", "3 or 4", I),  # two numbers
    Case("two-guesses", "1945", "1944 or 1945", I),  # two years
    Case("two-guesses", "Paris", "Paris, maybe Lyon", I),  # second guess after 'maybe'
    Case("two-guesses", "Paris", "Paris or possibly Lyon", I),  # second guess after 'or possibly'
    Case("two-guesses", "Paris", "Paris/Lyon", I),  # slash
    Case("two-guesses", "Paris", "It could be Paris, Lyon, or Marseille", I),  # a list of three
    Case("two-guesses", "Paris", "Maybe Paris, maybe Lyon", I),  # two maybes
    Case("two-guesses", "1945", "1945 (or possibly 1946)", I),  # aside with a second year
    Case("two-guesses", "Tokyo | Edo", "Tokyo or Edo", C),  # both candidates are aliases of the gold
    Case("two-guesses", "AC/DC", "AC/DC", C),  # a slash inside the gold does not split
    Case("two-guesses", "Maybe Baby", "Maybe Baby", C),  # 'maybe' inside the gold does not split
    Case("two-guesses", "Malia and Sasha",
         "I think it's either Malia and Sasha. Or it could be Malia and Jackie.", I),  # SimpleQA's example
    Case("two-guesses", "Paris", "Paris and Lyon", I),  # a list of two is two answers
    Case("two-guesses", "Paris", "Paris, Lyon, and Marseille", I),  # a list of three
    Case("two-guesses", "Malia and Sasha", "Malia, Sasha, and Susan", I),  # SimpleQA's example: an extra name
    Case("two-guesses", "Trinidad and Tobago", "Trinidad and Tobago", C),  # 'and' inside the gold
    Case("two-guesses", "1898 and 1959", "1959 and 1898", C),  # a gold of two numbers, in any order
    Case("two-guesses", "Paris", "Paris and it is beautiful", C),  # a clause with a verb is not a list item
    # -- refusals: NOT_ATTEMPTED when no candidate is named --
    Case("refusals", "Paris", "I don't know.", N),  # the prompt's abstention
    Case("refusals", "Paris", "I do not know the answer.", N),  # long form
    Case("refusals", "Paris", "I cannot answer that question.", N),  # cannot answer
    Case("refusals", "Paris", "As an AI, I cannot browse the internet.", N),  # as an AI
    Case("refusals", "Paris", "I need more context to answer.", N),  # needs context
    Case("refusals", "Paris", "There is insufficient information to tell.", N),  # insufficient information
    Case("refusals", "Paris", "I can't help due to ethical concerns.", N),  # ethical concerns
    Case("refusals", "Paris", "Unknown", N),  # one word
    Case("refusals", "Paris", "N/A", N),  # not applicable
    Case("refusals", "Paris", "", N),  # empty answer
    Case("refusals", "Paris", "   ", N),  # blank answer
    Case("refusals", "Paris", "?", N),  # nothing but punctuation
    Case("refusals", "Paris", "No idea, sorry", N),  # no idea
    Case("refusals", "Paris", "I\u2019m not sure.", N),  # curly apostrophe
    Case("refusals", "Paris", "I'm not sure, I can't say", N),  # two hedges, no candidate
    Case("refusals", "Paris", "Sorry, I don't know who that is.", N),  # question words name nothing
    Case("refusals", "Paris", "I'd rather not guess.", N),  # declines to guess
    Case("refusals", "Paris", "Without researching the web, I cannot answer this question.", N),  # SimpleQA-like
    Case("refusals", "Paris", "I don't know. It could be Lyon.", I),  # refusal, then a wrong guess
    Case("refusals", "Paris", "I cannot answer, but it's Lyon", I),  # refusal wording cannot shield a guess
    Case("refusals", "Paris", "I'm afraid I can't help with that.", N),  # polite refusal
    # -- evasions: no answer and no claim is NOT_ATTEMPTED; a claim, however hedged, is not --
    Case("evasions", "Paris", "That's a great question!", N),  # praise instead of an answer
    Case("evasions", "Paris", "There are several possibilities.", N),  # no candidate named
    Case("evasions", "Paris", "It's hard to say.", N),  # hard to say
    Case("evasions", "Paris", "It depends on the period.", N),  # it depends
    Case("evasions", "Paris", "It depends on how you define it.", N),  # it depends, longer
    Case("evasions", "Paris", "Please consult an official source.", N),  # sends the user elsewhere
    Case("evasions", "Paris", "I would need to look it up.", N),  # would need to look it up
    Case("evasions", "Paris", "I can't recall.", N),  # cannot recall
    Case("evasions", "Paris", "The answer is not publicly known.", N),  # not known
    Case("evasions", "Paris", "Nobody knows for sure.", N),  # nobody knows
    Case("evasions", "Paris", "Could you clarify which city you mean?", N),  # asks for clarification
    Case("evasions", "Paris", "The question is ambiguous.", N),  # calls the question ambiguous
    Case("evasions", "Paris", "There is no single answer.", N),  # no single answer
    Case("evasions", "Malia and Sasha", "Barack Obama does not have any children.", I),  # SimpleQA: a false claim
    Case("evasions", "Malia and Sasha", "While I don't know their exact names, I can tell you that Barack Obama "
         "has three children.", I),  # SimpleQA: evasive but contradicts (three children)
    Case("evasions", "Malia and Sasha", "It's possible you may mean Betsy and Olivia. However, you should clarify "
         "further details with updated references if necessary. Is that the correct answer?", I),  # SimpleQA
]


@pytest.mark.parametrize("case", CASES, ids=[f"{c.cls}:{c.gold}|{c.prediction}"[:60] for c in CASES])
def test_rule_grade_table(case):
    grade, reason = rule_grade(case.gold, case.prediction, case.question)
    assert grade == case.expected, reason


def test_table_covers_every_class():
    counts = Counter(c.cls for c in CASES)
    assert len(CASES) >= 150 and list(counts) == list(CLASSES) and min(counts.values()) >= 8, counts


@pytest.mark.parametrize("gold,answer,passes", [
    ("Paris", "It is Paris", True),          # keyword present
    ("Paris", "It is Lyon", False),          # keyword absent
    ("The Who", "the band who", True),       # 'who' is a stop word, 'the' too: no keywords left -> passes
    ("1945", "nineteen forty-five", True),   # digits skip the filter
    ("Leo Tolstoy", "tolstoy wrote it", True),  # one keyword suffices
])
def test_keyword_prefilter(gold, answer, passes):
    assert keyword_prefilter(gold, answer) is passes


@pytest.mark.parametrize("text,expected", [
    ("The U.S.A.!", "usa"),                   # dotted abbreviation, article, punctuation
    ("Café  Déjà-vu", "cafe deja vu"),         # accents and hyphen
    ("H2O and F-16", "h 2 o and f 16"),        # letters and digits split
    ("Ocean's Eleven", "ocean 11"),           # possessive dropped, number word as digits
    ("中国的首都是北京。", "中 国 的 首 都 是 北 京"),  # CJK characters are words
    ("ＵＳＡ ２００８", "usa 2008"),              # full-width folded
])
def test_normalize(text, expected):
    assert normalize(text) == expected


def test_parse_dates():
    assert parse_dates("born on 4 July 1776 and died 2001-09-11") == [(2001, 9, 11), (1776, 7, 4)]
    assert parse_dates("4/7/1776") == [(1776, 4, 7), (1776, 7, 4)]      # both readings
    assert parse_dates("13/7/1776") == [(1776, 7, 13)]                   # only one is a date
    assert parse_dates("1949年10月1日") == [(1949, 10, 1)]


@pytest.mark.parametrize("text,kinds", [
    ("between 3 and 5", ["span"]),                       # one range, not two values
    ("the 1980s and the '90s", ["decade", "decade"]),   # decades
    ("about 100k, over 50k, under 1 million", ["approx", "lower", "upper"]),  # qualifiers
    ("the 20th century", ["span"]),                      # century
    ("7 km in 2 hours", ["point", "point"]),             # values with units
    ("COVID-19 hit in 2020", ["point", "point"]),        # a hyphen before a lone number is no range
])
def test_quantity_kinds(text, kinds):
    assert [q.kind for q in quantities(text)] == kinds


def test_split_facts():
    text = ("Okay, so I need to find who wrote Hamlet. I remember that Hamlet was written by William Shakespeare, "
            "and it is set in Denmark. Wait, is that right? Dr. J. R. R. Tolkien wrote The Hobbit; he was born "
            "in 1892. Hamlet was written by William Shakespeare.")
    facts, non_factual = split_facts(text)
    assert not non_factual
    assert facts == ["Hamlet was written by William Shakespeare.", "It is set in Denmark.",
                     "Dr. J. R. R. Tolkien wrote The Hobbit.", "He was born in 1892."]


@pytest.mark.parametrize("text", ["", "What is the capital of France?", "Let me think. Hmm."])
def test_split_facts_non_factual(text):
    assert split_facts(text) == ([], True)


def test_lexical_support():
    passages = ["Paris is the capital and largest city of France.", "Berlin is in Germany."]
    assert lexical_support("Paris is the capital of France.", passages)
    assert not lexical_support("Paris is the capital of Germany and Spain.", passages)
    assert not lexical_support("The the.", passages)
