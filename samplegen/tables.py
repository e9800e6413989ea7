"""Reference tables of the synthetic CRM: countries, company names, industries, technologies,
people's names and titles, lead sources, activity mixes, and the generator's constants."""

from __future__ import annotations

import numpy as np

from features.schema import ACTIVITY_TYPES

GENERATOR = "leadscore.sample"
VERSION = 1
HISTORY_DAYS = 730
MIN_LEADS = 50
SOURCE_FILES: dict[str, str] = {
    "leads": "leads.csv",
    "companies": "companies.csv",
    "activities": "activities.parquet",
    "opportunities": "opportunities.csv",
    "company_events": "company_events.csv",
}
DAY = 86_400
_FAR_FUTURE = np.iinfo(np.int64).max // 4

Rng = np.random.Generator

# ---- reference tables --------------------------------------------------------------------------

COUNTRIES = ("FI", "SE", "NO", "DK", "EE", "DE", "GB", "US")
_COUNTRY_WEIGHTS = (0.38, 0.27, 0.15, 0.13, 0.04, 0.01, 0.01, 0.01)
_NORDIC = 4  # FI, SE, NO, DK are the first four; EE is in territory; the rest are outside it
_TLD = ("fi", "se", "no", "dk", "ee", "com", "com", "com")
COUNTRY_NAMES = (
    ("Finland", "Suomi"), ("Sweden", "Sverige"), ("Norway", "Norge"), ("Denmark", "Danmark"),
    ("Estonia", "Eesti"), ("Germany", "Deutschland"), ("United Kingdom", "Great Britain"),
    ("United States", "USA"),
)
_LEGAL_FORMS = (
    (("Oy", 0.85), ("Oyj", 0.07), ("Ab", 0.08)),
    (("AB", 1.0),),
    (("AS", 0.88), ("ASA", 0.12)),
    (("A/S", 0.5), ("ApS", 0.5)),
    (("OÜ", 0.7), ("AS", 0.3)),
    (("GmbH", 1.0),),
    (("Ltd", 1.0),),
    (("Inc.", 1.0),),
)
# The form a lead's CRM record sometimes carries instead of the registered one.
_FORM_SWAPS = {"Oyj": "Oy", "ASA": "AS", "ApS": "A/S", "AB": "Ab", "Ab": "Oy Ab"}

# (NACE code, label, share of companies, relative size, software/IT)
INDUSTRIES = (
    ("62.01", "Computer programming activities", 0.12, 1.0, True),
    ("62.02", "Computer consultancy activities", 0.10, 1.0, True),
    ("63.11", "Data processing, hosting and related activities", 0.05, 1.2, True),
    ("58.29", "Other software publishing", 0.05, 1.0, False),
    ("46.51", "Wholesale of computers, computer peripheral equipment and software", 0.06, 1.3,
     False),
    ("25.62", "Machining", 0.08, 1.5, False),
    ("47.91", "Retail sale via mail order houses or via Internet", 0.08, 0.8, False),
    ("64.19", "Other monetary intermediation", 0.04, 4.0, False),
    ("70.22", "Business and other management consultancy activities", 0.12, 0.6, False),
    ("86.10", "Hospital activities", 0.06, 6.0, False),
    ("41.20", "Construction of residential and non-residential buildings", 0.14, 1.4, False),
    ("49.41", "Freight transport by road", 0.10, 1.2, False),
)
_IS_IT = np.array([row[4] for row in INDUSTRIES])
_INDUSTRY_WORDS = (
    ("Software", "Code", "Ohjelmistot", "Apps", "Dev"),
    ("IT", "Tech", "Solutions", "Systems", "Digital"),
    ("Data", "Cloud", "Hosting", "Analytics"),
    ("Software", "Labs", "Publishing"),
    ("Tukku", "Distribution", "Trading", "Grossist"),
    ("Konepaja", "Mekaniska", "Mekanikk", "Metal"),
    ("Verkkokauppa", "Shop", "Handel", "Store"),
    ("Pankki", "Bank", "Sparebank", "Capital"),
    ("Consulting", "Konsult", "Rådgivning", "Advisory", "Partners"),
    ("Terveys", "Vård", "Helse", "Klinik", "Health"),
    ("Rakennus", "Bygg", "Byg", "Construction"),
    ("Kuljetus", "Transport", "Frakt", "Logistik", "Logistiikka"),
)
_PLACE_WORDS = (
    ("Pohjolan", "Suomen", "Järvi", "Mäki", "Kärki", "Länsi", "Itä", "Hämeen", "Savon", "Lapin",
     "Väre", "Tähti", "Kivi", "Metsä", "Äänekosken", "Pääkaupungin"),
    ("Nordström", "Göta", "Åkers", "Svea", "Väst", "Öst", "Norr", "Söder", "Fjäll", "Älv",
     "Skärgårds", "Malmö", "Björk", "Lind"),
    ("Fjørd", "Bjørn", "Nord", "Vest", "Øst", "Sør", "Bergens", "Trønder", "Hav", "Fjell", "Løve",
     "Ålesund", "Stavanger"),
    ("Søndergård", "Ærø", "Høj", "Nørre", "Vester", "Øster", "Fyns", "Jysk", "Kjær", "Møller",
     "Aarhus", "Ålborg", "Bækgaard"),
    ("Tallinna", "Tartu", "Balti", "Põhja", "Läänemere", "Viru", "Saare"),
    ("Atlantic", "Bavaria", "Thames", "Pioneer", "Summit", "Rhein", "Liberty", "Crown"),
)
_SYLLABLES = (
    "ka", "lo", "vi", "nor", "sun", "tek", "mar", "ri", "sa", "vo", "ne", "lin", "ber", "dal", "ta",
    "ki", "ro", "ven", "as", "el", "ko", "mi", "ra", "tu", "va", "ol", "ny", "ar", "is", "fin",
    "sol", "dan", "sve", "bal", "lu", "po", "gan", "ek", "ul", "ha",
)
TECHNOLOGIES = (
    "salesforce", "hubspot", "pipedrive", "microsoft_dynamics", "aws", "azure", "gcp",
    "microsoft365", "google_workspace", "slack", "jira", "sap", "netvisor", "procountor", "visma",
    "fortnox", "tripletex", "e-conomic", "shopify", "wordpress",
)
_TECH_BASE = (0.10, 0.12, 0.06, 0.05, 0.15, 0.20, 0.06, 0.55, 0.25, 0.15, 0.10, 0.04, 0.0, 0.0,
              0.20, 0.0, 0.0, 0.0, 0.05, 0.30)
_TECH_LOCAL = {12: 0, 13: 0, 15: 1, 16: 2, 17: 3}  # accounting tools used in one country only
_TECH_IT_BOOST = (1.5, 1.8, 1.2, 1.0, 3.0, 1.8, 3.0, 1.2, 1.8, 3.0, 4.0, 0.5, 1, 1, 1, 1, 1, 1, 0.5,
                  1.0)

FIRST_NAMES = (
    ("Mikko", "Matti", "Juha", "Jukka", "Antti", "Ville", "Sami", "Timo", "Jyrki", "Väinö", "Päivi",
     "Anna", "Aino", "Sanna", "Tiina", "Minna", "Heidi", "Kaisa", "Elina", "Pekka"),
    ("Åsa", "Anders", "Björn", "Göran", "Ingrid", "Lars", "Karin", "Erik", "Maria", "Johan",
     "Sofia", "Mikael", "Linnéa", "Per", "Ulla", "Örjan", "Märta"),
    ("Jørgen", "Ingrid", "Ole", "Kari", "Bjørn", "Sigrid", "Håkon", "Lars", "Kristin", "Øystein",
     "Marit", "Eirik", "Solveig", "Tor", "Åse"),
    ("Søren", "Mette", "Lars", "Anders", "Jens", "Pernille", "Mads", "Camilla", "Rasmus",
     "Birgitte", "Kasper", "Henrik", "Lærke", "Jørn"),
    ("Mart", "Kadri", "Tõnu", "Liis", "Jüri", "Kristjan", "Triin", "Andres", "Mari", "Priit"),
    ("John", "Sarah", "Michael", "Emma", "Thomas", "Laura", "David", "Julia", "James", "Stefan",
     "Claire"),
)
LAST_NAMES = (
    ("Virtanen", "Korhonen", "Mäkinen", "Nieminen", "Mäkelä", "Hämäläinen", "Laine", "Heikkinen",
     "Koskinen", "Järvinen", "Lehtonen", "Äijälä", "Kärkkäinen", "Salonen", "Heinonen", "Öhman",
     "Lindholm", "Väisänen"),
    ("Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Öberg", "Ström", "Åberg",
     "Lindqvist", "Berglund", "Sjögren", "Håkansson", "Bergström", "Löfgren"),
    ("Hansen", "Johansen", "Olsen", "Larsen", "Berg", "Bråten", "Sørensen", "Dahl", "Løvås",
     "Haugen", "Bakken", "Strøm", "Nygård", "Ødegård"),
    ("Nielsen", "Jensen", "Hansen", "Pedersen", "Møller", "Søndergaard", "Kjær", "Christensen",
     "Rasmussen", "Thomsen", "Bæk", "Holm", "Østergaard", "Lund"),
    ("Tamm", "Saar", "Sepp", "Mägi", "Kask", "Kukk", "Rebane", "Ilves", "Pärn", "Koppel"),
    ("Smith", "Müller", "Schmidt", "Brown", "Johnson", "Williams", "Schneider", "Taylor", "Fischer",
     "Jones", "Weber", "Miller"),
)
_NAME_GROUP = np.array([0, 1, 2, 3, 4, 5, 5, 5])
_ASCII_FOLD = (("ä", "a"), ("ö", "o"), ("å", "a"), ("ø", "o"), ("æ", "ae"), ("ü", "u"),
               ("õ", "o"), ("é", "e"))

# (title, seniority, department, language, relative frequency within its language)
_TITLE_TABLE: tuple[tuple[str, str, str, str, float], ...] = (
    ("CEO", "c_level", "executive", "en", 5),
    ("Chief Executive Officer", "c_level", "executive", "en", 1),
    ("Founder", "c_level", "executive", "en", 1),
    ("Managing Director", "c_level", "executive", "en", 1),
    ("CTO", "c_level", "engineering", "en", 3),
    ("CIO", "c_level", "it", "en", 2),
    ("CFO", "c_level", "finance", "en", 3),
    ("COO", "c_level", "operations", "en", 2),
    ("CMO", "c_level", "marketing", "en", 2),
    ("VP of Sales", "vp", "sales", "en", 2),
    ("VP Engineering", "vp", "engineering", "en", 2),
    ("Vice President, Marketing", "vp", "marketing", "en", 1),
    ("Head of IT", "director", "it", "en", 4),
    ("IT Director", "director", "it", "en", 3),
    ("Head of Sales", "director", "sales", "en", 3),
    ("Sales Director", "director", "sales", "en", 3),
    ("Head of Marketing", "director", "marketing", "en", 2),
    ("Engineering Manager", "manager", "engineering", "en", 3),
    ("IT Manager", "manager", "it", "en", 4),
    ("Sales Manager", "manager", "sales", "en", 5),
    ("Marketing Manager", "manager", "marketing", "en", 5),
    ("Operations Manager", "manager", "operations", "en", 3),
    ("HR Manager", "manager", "hr", "en", 3),
    ("Finance Manager", "manager", "finance", "en", 2),
    ("Software Engineer", "individual", "engineering", "en", 8),
    ("Developer", "individual", "engineering", "en", 5),
    ("DevOps Engineer", "individual", "engineering", "en", 2),
    ("System Administrator", "individual", "it", "en", 3),
    ("Account Executive", "individual", "sales", "en", 4),
    ("Marketing Coordinator", "individual", "marketing", "en", 4),
    ("Accountant", "individual", "finance", "en", 3),
    ("Consultant", "individual", "other", "en", 3),
    ("Student", "individual", "other", "en", 3),
    ("Toimitusjohtaja", "c_level", "executive", "fi", 6),
    ("Talousjohtaja", "c_level", "finance", "fi", 2),
    ("Teknologiajohtaja", "c_level", "engineering", "fi", 1),
    ("Tietohallintojohtaja", "c_level", "it", "fi", 2),
    ("Varatoimitusjohtaja", "vp", "executive", "fi", 1),
    ("IT-johtaja", "director", "it", "fi", 2),
    ("Myyntijohtaja", "director", "sales", "fi", 3),
    ("IT-päällikkö", "manager", "it", "fi", 4),
    ("Myyntipäällikkö", "manager", "sales", "fi", 5),
    ("Markkinointipäällikkö", "manager", "marketing", "fi", 4),
    ("Henkilöstöpäällikkö", "manager", "hr", "fi", 2),
    ("Tuotantopäällikkö", "manager", "operations", "fi", 3),
    ("Ohjelmistokehittäjä", "individual", "engineering", "fi", 6),
    ("Markkinointikoordinaattori", "individual", "marketing", "fi", 3),
    ("Kirjanpitäjä", "individual", "finance", "fi", 3),
    ("Opiskelija", "individual", "other", "fi", 2),
    ("VD", "c_level", "executive", "sv", 6),
    ("Verkställande direktör", "c_level", "executive", "sv", 1),
    ("Vice VD", "vp", "executive", "sv", 1),
    ("Försäljningsdirektör", "director", "sales", "sv", 2),
    ("IT-chef", "manager", "it", "sv", 4),
    ("Försäljningschef", "manager", "sales", "sv", 5),
    ("Marknadschef", "manager", "marketing", "sv", 4),
    ("Ekonomichef", "manager", "finance", "sv", 3),
    ("Personalchef", "manager", "hr", "sv", 2),
    ("Driftchef", "manager", "operations", "sv", 2),
    ("Utvecklare", "individual", "engineering", "sv", 5),
    ("Systemutvecklare", "individual", "engineering", "sv", 3),
    ("Ekonomiassistent", "individual", "finance", "sv", 3),
    ("Säljare", "individual", "sales", "sv", 3),
    ("Daglig leder", "c_level", "executive", "no", 6),
    ("Administrerende direktør", "c_level", "executive", "no", 3),
    ("Salgsdirektør", "director", "sales", "no", 2),
    ("IT-sjef", "manager", "it", "no", 4),
    ("Salgssjef", "manager", "sales", "no", 5),
    ("Markedssjef", "manager", "marketing", "no", 3),
    ("Økonomisjef", "manager", "finance", "no", 3),
    ("HR-sjef", "manager", "hr", "no", 2),
    ("Driftssjef", "manager", "operations", "no", 2),
    ("Utvikler", "individual", "engineering", "no", 5),
    ("Systemutvikler", "individual", "engineering", "no", 2),
    ("Regnskapsmedarbeider", "individual", "finance", "no", 2),
    ("Adm. direktør", "c_level", "executive", "da", 4),
    ("IT-direktør", "director", "it", "da", 2),
    ("Salgschef", "manager", "sales", "da", 5),
    ("Marketingchef", "manager", "marketing", "da", 3),
    ("Økonomichef", "manager", "finance", "da", 3),
    ("HR-chef", "manager", "hr", "da", 2),
    ("Driftschef", "manager", "operations", "da", 2),
    ("Softwareudvikler", "individual", "engineering", "da", 5),
    ("Bogholder", "individual", "finance", "da", 3),
    ("Studerende", "individual", "other", "da", 2),
)
TITLES: tuple[tuple[str, str, str], ...] = tuple(row[:3] for row in _TITLE_TABLE)
"""(title, seniority, department) for every title the generator writes, before case dirt."""
SENIORITIES = ("c_level", "vp", "director", "manager", "individual")
DEPARTMENTS = ("it", "engineering", "sales", "marketing", "finance", "operations", "hr",
               "executive", "other")
_TITLE_LANGUAGES = ("en", "fi", "sv", "no", "da")
_LOCAL_TITLE_LANGUAGE = (1, 2, 3, 4, 0, 0, 0, 0)  # per country: which language is local

FREE_MAIL_DOMAINS = (
    ("gmail.com", "hotmail.fi", "luukku.com", "outlook.com", "hotmail.com"),
    ("gmail.com", "live.se", "yahoo.se", "hotmail.se", "outlook.com"),
    ("gmail.com", "online.no", "hotmail.no", "outlook.com"),
    ("gmail.com", "hotmail.dk", "outlook.dk", "live.dk"),
    ("gmail.com", "hot.ee", "outlook.com"),
    ("gmail.com", "outlook.com", "yahoo.com"),
)
_ROLE_LOCALS = (("info", "myynti"), ("info", "kontakt"), ("post", "salg"), ("info", "salg"),
                ("info",), ("info", "sales"))
COMPETITOR_DOMAIN = "rival.example"
_COMPETITOR_NAMES = ("Rival Oy", "Rival", "RIVAL OY", "Rival Oy (kilpailija)")
PLACEHOLDERS = ("Select", "N/A", "-")
LEAD_SOURCES = ("web_form", "webinar", "event", "referral", "paid_search", "organic", "partner",
                "cold_list")
_SOURCE_WEIGHTS = (0.25, 0.12, 0.10, 0.06, 0.14, 0.15, 0.05, 0.13)
_SOURCE_BUYING = np.array([1.2, 1.1, 1.0, 1.6, 1.0, 1.0, 1.4, 0.5])
_SOURCE_ACTIVITY = np.array([1.1, 1.2, 0.9, 0.9, 1.0, 1.0, 0.9, 0.5])
_OWNERS = (
    ("Anna Korhonen", "Jukka Mäkelä", "Sanna Laine"), ("Erik Lindqvist", "Karin Åberg"),
    ("Sofie Hansen", "Håkon Dahl"), ("Mikkel Sørensen", "Mette Holm"), ("Anna Korhonen",),
    ("Export Desk",),
)
_NEEDS = ("CRM integration", "Sales reporting", "Lead routing", "Replace spreadsheets",
          "Marketing automation", "Data quality", "Raportointi", "Integration mot ERP")
UNPARSEABLE_DATES = ("yesterday", "2025-13-45 10:00:00", "30/02/2025", "0000-00-00 00:00:00",
                     "#VALUE!")
VENDOR_SITE = "https://www.leadscore-demo.example"

_A = {name: i for i, name in enumerate(ACTIVITY_TYPES)}
_EMAIL_TYPES = np.array([_A["email_open"], _A["email_click"]])
_VALID_EMAIL = r"(?i)^\s*[^@\s]+@[^@\s]+\.[a-z]+\s*$"


def _type_mix(**weights: float) -> np.ndarray:
    """Probability vector over ACTIVITY_TYPES from keyword weights (missing types get 0)."""
    mix = np.array([weights.get(t, 0.0) for t in ACTIVITY_TYPES])
    return mix / mix.sum()


_BASELINE_MIX = _type_mix(
    email_open=36, email_click=10, page_view=30, pricing_page_view=1.5, content_download=6,
    form_submit=2, webinar_attended=3, demo_request=0.15, pricing_request=0.15,
    contact_sales=0.1, meeting=0.5, call=1.5, reply=1.5,
)
_ENGAGED_MIX = _type_mix(
    email_open=25, email_click=12, page_view=33, pricing_page_view=3, content_download=12,
    form_submit=3, webinar_attended=7, reply=2, call=1, meeting=1,
)
_BUYING_MIX = _type_mix(
    page_view=25, pricing_page_view=20, content_download=8, email_open=10, email_click=8,
    demo_request=5, pricing_request=4, contact_sales=3, form_submit=4, webinar_attended=2,
    reply=5, call=2, meeting=1,
)
_SIGNAL_MIX = _type_mix(demo_request=45, pricing_request=30, contact_sales=25)
_SALES_MIX = _type_mix(meeting=35, call=35, reply=30)
# Nordic office hours, in UTC: most activity 06-15 UTC, a little in the evening.
_HOUR_WEIGHTS = np.array([1, 1, 1, 1, 2, 4, 8, 10, 10, 10, 9, 9, 10, 10, 8, 6, 4, 3, 3, 3, 2, 2,
                          1, 1], dtype=float)
_HOUR_WEIGHTS /= _HOUR_WEIGHTS.sum()

_URL_PATHS: dict[str, tuple[str, ...]] = {
    "page_view": ("/", "/product", "/customers", "/integrations", "/blog/lead-scoring-101",
                  "/blog/crm-data-quality", "/about", "/careers"),
    "email_click": ("/blog/lead-scoring-101", "/webinars", "/resources/guide-crm-data-quality"),
    "pricing_page_view": ("/pricing", "/pricing/enterprise"),
    "content_download": ("/resources/guide-crm-data-quality", "/resources/ebook-lead-scoring",
                         "/resources/whitepaper-gdpr"),
    "form_submit": ("/contact", "/newsletter"),
    "demo_request": ("/demo",),
    "pricing_request": ("/pricing/quote",),
    "contact_sales": ("/contact-sales",),
}
