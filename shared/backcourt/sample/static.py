"""Fixed facts the synthetic league borrows from the real NBA: conferences, divisions, arenas,
time zones, balldontlie team ids, and the word lists behind fake player names and injuries."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TeamInfo:
    """What the raw formats say about a franchise besides its NBA.com name and id."""

    conference: str  # East | West
    division: str
    arena: str
    arena_city: str
    arena_state: str
    slug: str  # NBA.com teamSlug
    tz: str  # IANA time zone of the arena
    bdl_id: int  # balldontlie team id


TEAM_INFO: dict[str, TeamInfo] = {
    "ATL": TeamInfo("East", "Southeast", "State Farm Arena", "Atlanta", "GA", "hawks",
                    "America/New_York", 1),
    "BOS": TeamInfo("East", "Atlantic", "TD Garden", "Boston", "MA", "celtics",
                    "America/New_York", 2),
    "BKN": TeamInfo("East", "Atlantic", "Barclays Center", "Brooklyn", "NY", "nets",
                    "America/New_York", 3),
    "CHA": TeamInfo("East", "Southeast", "Spectrum Center", "Charlotte", "NC", "hornets",
                    "America/New_York", 4),
    "CHI": TeamInfo("East", "Central", "United Center", "Chicago", "IL", "bulls",
                    "America/Chicago", 5),
    "CLE": TeamInfo("East", "Central", "Rocket Mortgage FieldHouse", "Cleveland", "OH",
                    "cavaliers", "America/New_York", 6),
    "DAL": TeamInfo("West", "Southwest", "American Airlines Center", "Dallas", "TX",
                    "mavericks", "America/Chicago", 7),
    "DEN": TeamInfo("West", "Northwest", "Ball Arena", "Denver", "CO", "nuggets",
                    "America/Denver", 8),
    "DET": TeamInfo("East", "Central", "Little Caesars Arena", "Detroit", "MI", "pistons",
                    "America/Detroit", 9),
    "GSW": TeamInfo("West", "Pacific", "Chase Center", "San Francisco", "CA", "warriors",
                    "America/Los_Angeles", 10),
    "HOU": TeamInfo("West", "Southwest", "Toyota Center", "Houston", "TX", "rockets",
                    "America/Chicago", 11),
    "IND": TeamInfo("East", "Central", "Gainbridge Fieldhouse", "Indianapolis", "IN", "pacers",
                    "America/Indiana/Indianapolis", 12),
    "LAC": TeamInfo("West", "Pacific", "Intuit Dome", "Inglewood", "CA", "clippers",
                    "America/Los_Angeles", 13),
    "LAL": TeamInfo("West", "Pacific", "Crypto.com Arena", "Los Angeles", "CA", "lakers",
                    "America/Los_Angeles", 14),
    "MEM": TeamInfo("West", "Southwest", "FedExForum", "Memphis", "TN", "grizzlies",
                    "America/Chicago", 15),
    "MIA": TeamInfo("East", "Southeast", "Kaseya Center", "Miami", "FL", "heat",
                    "America/New_York", 16),
    "MIL": TeamInfo("East", "Central", "Fiserv Forum", "Milwaukee", "WI", "bucks",
                    "America/Chicago", 17),
    "MIN": TeamInfo("West", "Northwest", "Target Center", "Minneapolis", "MN", "timberwolves",
                    "America/Chicago", 18),
    "NOP": TeamInfo("West", "Southwest", "Smoothie King Center", "New Orleans", "LA",
                    "pelicans", "America/Chicago", 19),
    "NYK": TeamInfo("East", "Atlantic", "Madison Square Garden", "New York", "NY", "knicks",
                    "America/New_York", 20),
    "OKC": TeamInfo("West", "Northwest", "Paycom Center", "Oklahoma City", "OK", "thunder",
                    "America/Chicago", 21),
    "ORL": TeamInfo("East", "Southeast", "Kia Center", "Orlando", "FL", "magic",
                    "America/New_York", 22),
    "PHI": TeamInfo("East", "Atlantic", "Wells Fargo Center", "Philadelphia", "PA", "sixers",
                    "America/New_York", 23),
    "PHX": TeamInfo("West", "Pacific", "Footprint Center", "Phoenix", "AZ", "suns",
                    "America/Phoenix", 24),
    "POR": TeamInfo("West", "Northwest", "Moda Center", "Portland", "OR", "blazers",
                    "America/Los_Angeles", 25),
    "SAC": TeamInfo("West", "Pacific", "Golden 1 Center", "Sacramento", "CA", "kings",
                    "America/Los_Angeles", 26),
    "SAS": TeamInfo("West", "Southwest", "Frost Bank Center", "San Antonio", "TX", "spurs",
                    "America/Chicago", 27),
    "TOR": TeamInfo("East", "Atlantic", "Scotiabank Arena", "Toronto", "ON", "raptors",
                    "America/Toronto", 28),
    "UTA": TeamInfo("West", "Northwest", "Delta Center", "Salt Lake City", "UT", "jazz",
                    "America/Denver", 29),
    "WAS": TeamInfo("East", "Southeast", "Capital One Arena", "Washington", "DC", "wizards",
                    "America/New_York", 30),
}

# Plain, accented, apostrophe and hyphen forms on purpose: they exercise name normalisation.
# No first name may start with "jr", "sr", "ii" or "iv": ``player_lookup`` would take a
# "Last, First" name with such a first name for a suffix and not turn it around.
FIRST_NAMES: tuple[str, ...] = (
    "Aaron", "Adrian", "Alec", "Alvin", "Amir", "Andre", "Anthony", "Ayo", "Bennett", "Brandon",
    "Bryce", "Caleb", "Cam", "Cedric", "Chris", "Cody", "Colby", "Corey", "Dalen", "Damian",
    "Darius", "Davion", "Dejounte", "Derrick", "Devin", "Dominic", "Donovan", "Dwayne", "Elijah",
    "Emmett", "Eric", "Evan", "Felix", "Gabe", "Grant", "Harrison", "Isaiah", "Jalen", "Jamal",
    "Jaylen", "Jerome", "Jordan", "Josh", "Julian", "Justin", "Kai", "Keegan", "Kendall", "Keon",
    "Kevin", "Kobe", "Lamar", "Landon", "Lonnie", "Malik", "Marcus", "Mason", "Miles", "Nate",
    "Nolan", "Obi", "Omar", "Patrick", "Quentin", "Reggie", "Rodney", "Ryan", "Scotty", "Shane",
    "Terrence", "Trey", "Tyrese", "Victor", "Walker", "Xavier", "Zach", "Zion",
    "José", "Théo", "Nicolás", "Álvaro", "Jānis", "Dāvis", "Luka", "Goran", "Bojan", "Nikola",
    "Aleksej", "Dario", "Tomáš", "Andrés", "Joël", "Rúben", "Mikaël", "Ömer",
    "De'Andre", "Ja'Von", "D'Marcus", "Jae'Sean", "Kel'el", "Day'Ron",
)

LAST_NAMES: tuple[str, ...] = (
    "Adams", "Allen", "Anderson", "Bailey", "Baker", "Barnes", "Bell", "Bennett", "Brooks",
    "Brown", "Bryant", "Butler", "Carter", "Clark", "Coleman", "Collins", "Cook", "Cooper",
    "Davis", "Dixon", "Edwards", "Ellis", "Evans", "Fisher", "Fleming", "Ford", "Foster",
    "Freeman", "Gibson", "Graham", "Grant", "Green", "Griffin", "Hall", "Hamilton", "Harper",
    "Harris", "Hayes", "Henderson", "Hill", "Holmes", "Howard", "Hughes", "Hunter", "Jackson",
    "Jenkins", "Johnson", "Jones", "Jordan", "Kelly", "King", "Knight", "Lewis", "Lowry",
    "Marshall", "Martin", "Mason", "Matthews", "Miller", "Mitchell", "Moore", "Morgan", "Morris",
    "Murray", "Nelson", "Owens", "Parker", "Patterson", "Payne", "Perry", "Phillips", "Porter",
    "Powell", "Price", "Reed", "Richardson", "Roberts", "Robinson", "Rogers", "Ross", "Russell",
    "Sanders", "Scott", "Simmons", "Smith", "Spencer", "Stewart", "Sullivan", "Taylor",
    "Thomas", "Thompson", "Tucker", "Turner", "Walker", "Wallace", "Warren", "Washington",
    "Watson", "Webb", "Wells", "White", "Williams", "Wilson", "Wright", "Young",
    "Petrović", "Marković", "Kovačević", "Šarić", "Nurkić", "Bogdanović", "Vučević", "Dončević",
    "Núñez", "Pérez", "Gómez", "Schröder", "Müller", "Lindqvist", "Çelik", "Bertāns", "Jokanović",
    "Valančiūnas", "Hernangómez", "Kuzmić", "Yılmaz",
    "O'Connell", "D'Amato", "O'Bannon", "N'Diaye", "Smith-Rowe", "Walker-Price", "Gilmore-Diaz",
)

SUFFIXES: tuple[str, ...] = ("Jr.", "Jr.", "Jr.", "II", "III", "Sr.", "IV")

COLLEGES: tuple[str, ...] = (
    "Duke", "Kentucky", "Kansas", "UCLA", "Gonzaga", "Villanova", "Michigan", "Arizona",
    "North Carolina", "Texas", "Baylor", "Florida", "Virginia", "Oregon", "None",
)

COUNTRIES: tuple[str, ...] = ("USA",) * 7 + ("Canada", "France", "Serbia", "Spain", "Australia")

BODY_PARTS: tuple[str, ...] = (
    "Ankle", "Knee", "Hamstring", "Calf", "Hip", "Foot", "Wrist", "Shoulder", "Groin", "Thumb",
    "Quadriceps", "Achilles",
)

INJURY_KINDS: tuple[str, ...] = (
    "Sprain", "Strain", "Soreness", "Contusion", "Tendinopathy", "Tightness",
)

ILLNESSES: tuple[str, ...] = ("Illness", "Non-COVID Illness", "Low Back; Soreness")
