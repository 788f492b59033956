using System.Globalization;
using System.Text.Json.Nodes;
using Bogus;

namespace Tandem.Demo;

internal sealed partial class DemoTraffic
{
    /// <summary>One generated message; its timestamp is final only once its person's timeline is done.</summary>
    private sealed class DemoEvent(string source, long sequence, JsonObject message, DateTimeOffset timestamp)
    {
        public string Source { get; } = source;
        public long Sequence { get; } = sequence;
        public JsonObject Message { get; } = message;
        public DateTimeOffset Timestamp { get; set; } = timestamp;
    }

    private sealed record Product(string Id, string Sku, string Name, string Category, decimal Price, string Slug);

    private sealed record Article(string Id, string Title, string Category, string Slug);

    private sealed record Campaign(string Id, string Name, string Subject, string LinkPath);

    private sealed record Account(string Id, string Name, string Domain, string Industry, int Employees, string Plan);

    private sealed record Device(string AnonymousId, string UserAgent, string Ip, string Timezone);

    /// <summary>A visit (one browser session) on the website or the blog: who, on what device, on which page.</summary>
    private sealed class Visit(Device device, string? userId)
    {
        public Device Device { get; } = device;
        public string? UserId { get; set; } = userId;
        public string Path { get; set; } = "/";
        public string Url { get; set; } = "";
        public string Title { get; set; } = "";
        public string Referrer { get; set; } = "";
        public List<(Product Product, int Quantity)> Cart { get; } = [];
        public string CartId { get; set; } = "";
    }

    private sealed class Person
    {
        public required int Index { get; init; }
        public required string FirstName { get; init; }
        public required string LastName { get; init; }
        public required string Email { get; init; }
        public required string Phone { get; init; }
        public required string Title { get; init; }
        public required Account Account { get; init; }
        public required string Plan { get; init; }
        public required string UserId { get; init; }
        public required string ContactId { get; init; }
        public required string LeadId { get; init; }
        public bool OnWebsite { get; init; }
        public bool SignsUp { get; init; }
        public bool ReadsBlog { get; init; }
        public bool InMarketing { get; init; }
        public bool CrmContact { get; init; }
        public bool CrmLead { get; init; }
        public bool Subscribes { get; init; }
        public required Device? Home { get; init; }
        public required Device? OtherDevice { get; init; }

        /// <summary>The blog's own cookie: the CMS runs on another domain, so the same browser has another anonymous id there.</summary>
        public required string? ReaderId { get; init; }
    }

    /// <summary>A stretch of activity in one source; its events are rendered once its start time is known.</summary>
    private sealed record Session(string Source, Action Render);

    /// <summary>The simulated world: catalogue, accounts, people, and the timeline each of them leaves behind.</summary>
    private sealed partial class Simulation
    {
        private const string StoreName = "Northwind Market";
        private const string SiteUrl = "https://shop.example.com";
        private const string BlogUrl = "https://blog.example.com";
        private const string Newsletter = "The Northwind Weekly";
        private const string LowerAlphanumeric = "abcdefghijklmnopqrstuvwxyz0123456789";
        private const string SalesforceChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

        private static readonly TimeSpan Earliest = TimeSpan.FromDays(29);
        private static readonly TimeSpan Latest = TimeSpan.FromHours(6);
        private static readonly string[] Referrers =
            ["https://www.google.com/", "https://www.google.com/", "https://www.bing.com/", "https://duckduckgo.com/",
             "https://www.facebook.com/", "https://www.instagram.com/", "https://www.linkedin.com/", "", ""];
        private static readonly string[] Timezones =
            ["America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "Europe/London", "Europe/Berlin", "Europe/Paris"];
        private static readonly string[] FreeMail = ["gmail.com", "yahoo.com", "outlook.com", "icloud.com", "proton.me"];
        private static readonly string[] Plans = ["free", "free", "basic", "plus", "premium"];
        private static readonly string[] AccountPlans = ["Starter", "Business", "Enterprise"];
        private static readonly string[] Industries =
            ["Retail", "Software", "Healthcare", "Manufacturing", "Education", "Hospitality", "Financial Services", "Media"];
        private static readonly string[] SignUpMethods = ["email", "email", "google", "apple"];
        private static readonly string[] ArticleCategories = ["Guides", "Reviews", "Customer Stories", "News"];
        private static readonly string[] Stages = ["subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead"];
        private static readonly string[] LeadSources = ["Web", "Trade Show", "Webinar", "Partner Referral", "Cold Call"];
        private static readonly string[] LeadStatuses = ["Open - Not Contacted", "Working - Contacted", "Nurturing"];
        private static readonly string[] CampaignNames =
            ["Welcome Series #1", "Spring Sale", "New Arrivals", "Weekly Digest", "Abandoned Cart Reminder", "Webinar Invitation", "Customer Stories"];

        private readonly Faker _faker;
        private readonly Randomizer _random;
        private readonly DateTimeOffset _now;
        private readonly List<DemoEvent> _events = [];
        private readonly HashSet<string> _emails = new(StringComparer.Ordinal);
        private readonly HashSet<string> _issued = new(StringComparer.Ordinal);
        private readonly List<Account> _accounts = [];
        private Product[] _products = [];
        private Article[] _articles = [];
        private Campaign[] _campaigns = [];
        private DateTimeOffset _clock;
        private string _source = DemoSources.Website;
        private long _sequence;
        private int _orders;

        public Simulation(int seed, DateTimeOffset now)
        {
            _faker = new Faker("en") { Random = new Randomizer(seed) };
            _random = _faker.Random;
            _now = now;
        }

        /// <summary>
        /// Person after person, each drawn and living their timeline before the next is drawn, and nothing
        /// drawn from the total: so the first N people of a larger run are exactly the people of a run of
        /// N. A larger demo after a smaller one then repeats the same customers (deduplicated) and adds
        /// new ones, instead of giving a known user id to someone else.
        /// </summary>
        public (List<DemoEvent> Events, List<Person> People) Run(int people)
        {
            _products = [.. Enumerable.Range(0, 24).Select(NewProduct)];
            _articles = [.. Enumerable.Range(0, 16).Select(NewArticle)];
            _campaigns = [.. CampaignNames.Select(NewCampaign)];
            var persons = new List<Person>(people);
            for (var i = 0; i < people; i++)
            {
                // About one account for four people, as before, but grown as people arrive.
                while (_accounts.Count < Math.Max(3, (i + 1) / 4))
                {
                    _accounts.Add(NewAccount());
                }

                var person = NewPerson(i);
                persons.Add(person);
                Live(person, persons);
            }

            return (_events, persons);
        }

        // ---- the world ----

        private Product NewProduct(int index)
        {
            var name = _faker.Commerce.ProductName();
            return new Product(
                "prod_" + _random.String2(10, LowerAlphanumeric),
                "SKU-" + _random.String2(6, "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"),
                name,
                _faker.Commerce.Categories(1)[0],
                _random.Int(8, 240) + 0.99m,
                Slug(name) + "-" + (index + 1).ToString(CultureInfo.InvariantCulture));
        }

        private Article NewArticle(int index)
        {
            var product = _faker.Commerce.Product();
            var adjective = _faker.Commerce.ProductAdjective();
            var title = _random.Int(0, 3) switch
            {
                0 => $"{_random.Int(3, 12)} ways to get more out of your {product}",
                1 => $"The {adjective} guide to {_faker.Commerce.Categories(1)[0]}",
                2 => $"Field test: is the {adjective} {product} worth it?",
                _ => $"What we learned from {_faker.Company.CompanyName()}",
            };
            return new Article(
                "art_" + (1001 + index).ToString(CultureInfo.InvariantCulture),
                title,
                _random.ArrayElement(ArticleCategories),
                Slug(title));
        }

        private Campaign NewCampaign(string name) => new(
            "cmp_" + _random.String2(8, LowerAlphanumeric),
            name,
            name switch
            {
                "Welcome Series #1" => $"Welcome to {StoreName}!",
                "Abandoned Cart Reminder" => "You left something behind",
                "Webinar Invitation" => $"Live: {_faker.Company.CatchPhrase()}",
                _ => $"{_faker.Commerce.ProductAdjective()} picks for the season",
            },
            "/" + Slug(_faker.Commerce.Department()));

        private Account NewAccount()
        {
            var name = _faker.Company.CompanyName();
            return new Account(
                Fresh(() => "001" + _random.String2(15, SalesforceChars)),
                name,
                Slug(name.Split(' ')[0]) + ".com",
                _random.ArrayElement(Industries),
                _random.WeightedRandom([_random.Int(5, 49), _random.Int(50, 499), _random.Int(500, 5000)], [0.5f, 0.35f, 0.15f]),
                _random.ArrayElement(AccountPlans));
        }

        /// <summary>
        /// Person 0 is Ada Lovelace (user id 42, ada@example.com), the customer the README's tour looks
        /// up: she browses, signs up, orders, reads the blog, gets marketing email and sits in the CRM.
        /// Person 1 also signs in on Ada's computer (the shared device).
        /// </summary>
        private Person NewPerson(int index)
        {
            var ada = index == 0;
            var first = ada ? "Ada" : _faker.Name.FirstName();
            var last = ada ? "Lovelace" : _faker.Name.LastName();
            var account = _random.ListItem(_accounts);
            var onWebsite = index < 2 || _random.Bool(0.9f);
            var signsUp = onWebsite && (index < 2 || _random.Bool(0.6f));
            var domain = _random.Bool(0.5f) ? account.Domain : _random.ArrayElement(FreeMail);
            var secondDevice = signsUp && index >= 2 && _random.Bool(0.2f);
            var readsBlog = ada || _random.Bool(onWebsite ? 0.45f : 0.15f);
            var home = onWebsite || readsBlog ? NewDevice() : null;
            return new Person
            {
                Index = index,
                FirstName = first,
                LastName = last,
                Email = ada ? Reserve("ada@example.com") : NewEmail(first, last, domain),
                Phone = Fresh(() => _faker.Phone.PhoneNumber("+1 ###-###-####")),
                Title = _faker.Name.JobTitle(),
                Account = account,
                Plan = _random.ArrayElement(Plans),
                UserId = ada ? "42" : "u_" + (10001 + index).ToString(CultureInfo.InvariantCulture),
                ContactId = Fresh(() => "003" + _random.String2(15, SalesforceChars)),
                LeadId = Fresh(() => "00Q" + _random.String2(15, SalesforceChars)),
                OnWebsite = onWebsite,
                SignsUp = signsUp,
                ReadsBlog = readsBlog,
                Subscribes = readsBlog && (ada || _random.Bool(0.7f)),
                InMarketing = ada || !onWebsite || _random.Bool(0.55f),
                CrmContact = signsUp && (ada || _random.Bool(0.7f)),
                CrmLead = !signsUp && _random.Bool(0.4f),
                Home = home,
                OtherDevice = secondDevice ? NewDevice() : null,
                ReaderId = readsBlog ? Fresh(NewGuid) : null,
            };
        }

        /// <summary>Every identifier a person owns, for checks that no two people share one.</summary>
        public static DemoPerson Identifiers(Person person) => new(
            person.FirstName + " " + person.LastName, person.UserId, person.Email, person.Phone, person.ContactId, person.LeadId,
            [.. new[] { person.Home?.AnonymousId, person.OtherDevice?.AnonymousId, person.ReaderId, person.InMarketing ? MarketingId(person.Email) : null }.OfType<string>()]);

        /// <summary>A value never drawn before in this run: no two people, devices or records share an id by chance.</summary>
        private string Fresh(Func<string> draw)
        {
            var value = draw();
            while (!_issued.Add(value))
            {
                value = draw();
            }

            return value;
        }

        private string Reserve(string email)
        {
            _emails.Add(email);
            return email;
        }

        private string NewEmail(string first, string last, string domain)
        {
            var local = Slug(first, "") + "." + Slug(last, "");
            var email = local + "@" + domain;
            for (var n = 2; !_emails.Add(email); n++)
            {
                email = local + n.ToString(CultureInfo.InvariantCulture) + "@" + domain;
            }

            return email;
        }

        private Device NewDevice() => new(Fresh(NewGuid), UserAgent(), PublicIp(), _random.ArrayElement(Timezones));

        /// <summary>A current desktop or mobile browser (Bogus' own list is mostly a decade old).</summary>
        private string UserAgent()
        {
            var chrome = string.Create(CultureInfo.InvariantCulture, $"{_random.Int(128, 138)}.0.{_random.Int(6000, 7200)}.{_random.Int(10, 180)}");
            var safari = string.Create(CultureInfo.InvariantCulture, $"{_random.Int(17, 18)}.{_random.Int(0, 6)}");
            var firefox = string.Create(CultureInfo.InvariantCulture, $"{_random.Int(128, 139)}.0");
            var macOs = string.Create(CultureInfo.InvariantCulture, $"10_15_{_random.Int(6, 7)}");
            var iOs = string.Create(CultureInfo.InvariantCulture, $"{_random.Int(17, 18)}_{_random.Int(0, 6)}");
            return _random.WeightedRandom(
                [
                    $"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{chrome} Safari/537.36",
                    $"Mozilla/5.0 (Macintosh; Intel Mac OS X {macOs}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{chrome} Safari/537.36",
                    $"Mozilla/5.0 (Macintosh; Intel Mac OS X {macOs}) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/{safari} Safari/605.1.15",
                    $"Mozilla/5.0 (iPhone; CPU iPhone OS {iOs} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/{safari} Mobile/15E148 Safari/604.1",
                    $"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{chrome} Mobile Safari/537.36",
                    $"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:{firefox}) Gecko/20100101 Firefox/{firefox}",
                    $"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{chrome} Safari/537.36 Edg/{chrome}",
                ],
                [0.3f, 0.12f, 0.13f, 0.2f, 0.1f, 0.07f, 0.08f]);
        }

        /// <summary>A random IPv4 address outside the private, loopback, link-local, CGNAT, documentation and multicast ranges.</summary>
        private string PublicIp()
        {
            int first;
            do
            {
                first = _random.Int(1, 223);
            }
            while (first is 10 or 100 or 127 or 169 or 172 or 192 or 198 or 203);

            return string.Create(CultureInfo.InvariantCulture,
                $"{first}.{_random.Int(0, 255)}.{_random.Int(0, 255)}.{_random.Int(1, 254)}");
        }

        /// <summary>A version-4 GUID drawn from the seeded randomizer.</summary>
        private string NewGuid()
        {
            var bytes = _random.Bytes(16);
            bytes[7] = (byte)((bytes[7] & 0x0F) | 0x40);
            bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80);
            return new Guid(bytes).ToString("D");
        }

        // ---- one person's timeline ----

        private void Live(Person person, List<Person> everyone)
        {
            var website = new List<Session>();
            var blog = new List<Session>();
            var marketing = new List<Session>();
            var crm = new List<Session>();
            var afterSignUp = new List<Session>();
            Session? signUp = null;

            if (person.OnWebsite)
            {
                var home = person.Home!;
                for (var i = _random.Int(1, 2); i > 0; i--)
                {
                    website.Add(new Session(DemoSources.Website, () => Browse(new Visit(home, null), mayBuy: false)));
                }

                if (person.SignsUp)
                {
                    signUp = new Session(DemoSources.Website, () => SignUp(person, new Visit(home, null)));
                    website.Add(signUp);
                    for (var i = _random.Int(1, 3); i > 0; i--)
                    {
                        website.Add(new Session(DemoSources.Website, () => Browse(new Visit(home, person.UserId), mayBuy: true)));
                    }

                    if (person.Index == 0)
                    {
                        website.Add(new Session(DemoSources.Website, () => Browse(new Visit(home, person.UserId), mayBuy: true, mustBuy: true)));
                    }

                    if (person.OtherDevice is { } other)
                    {
                        website.Add(new Session(DemoSources.Website, () => LogIn(person, new Visit(other, null))));
                        for (var i = _random.Int(0, 2); i > 0; i--)
                        {
                            website.Add(new Session(DemoSources.Website, () => Browse(new Visit(other, person.UserId), mayBuy: true)));
                        }
                    }

                    // The shared device: the second person also signs in on the first person's computer.
                    if (person.Index == 1 && everyone[0].Home is { } shared)
                    {
                        website.Add(new Session(DemoSources.Website, () => LogIn(person, new Visit(shared, null))));
                        website.Add(new Session(DemoSources.Website, () => Browse(new Visit(shared, person.UserId), mayBuy: true)));
                    }
                }
            }

            if (person.ReadsBlog)
            {
                var reader = new Visit(person.Home! with { AnonymousId = person.ReaderId! }, null);
                for (var i = _random.Int(1, 3); i > 0; i--)
                {
                    blog.Add(new Session(DemoSources.Cms, () => ReadArticles(reader, null, _random.Int(1, 3))));
                }

                if (person.Subscribes)
                {
                    blog.Add(new Session(DemoSources.Cms, () => Subscribe(person, reader)));
                    for (var i = _random.Int(0, 2); i > 0; i--)
                    {
                        blog.Add(new Session(DemoSources.Cms, () => ReadArticles(reader, person.Email, _random.Int(1, 3))));
                    }
                }
            }

            if (person.InMarketing)
            {
                var contact = MarketingId(person.Email);
                marketing.Add(new Session(DemoSources.MarketingAutomation,
                    () => MarketingIdentify(person, contact, _random.Int(5, 40), _random.ArrayElement(Stages[..2]))));
                foreach (var campaign in _random.ArrayElements(_campaigns, _random.Int(1, 4)))
                {
                    marketing.Add(new Session(DemoSources.MarketingAutomation, () => SendCampaign(person, contact, campaign)));
                }

                var update = new Session(DemoSources.MarketingAutomation,
                    () => MarketingIdentify(person, contact, _random.Int(40, 100), person.SignsUp ? "customer" : _random.ArrayElement(Stages[1..])));
                if (person.SignsUp)
                {
                    afterSignUp.Add(update);
                }
                else if (_random.Bool(0.5f))
                {
                    marketing.Add(update);
                }
            }

            if (person.CrmContact)
            {
                afterSignUp.Add(new Session(DemoSources.Crm, () => CrmContact(person)));
                if (_random.Bool(0.3f))
                {
                    afterSignUp.Add(new Session(DemoSources.Crm, () => CrmContact(person)));
                }
            }
            else if (person.CrmLead)
            {
                crm.Add(new Session(DemoSources.Crm, () => CrmLead(person)));
            }

            var plan = Interleave([website, blog, marketing, crm]);
            // After the sign-up, and after marketing's first identify, so that "customer" is the stage that stays.
            var at = signUp is null ? plan.Count - 1 : plan.IndexOf(signUp);
            if (marketing.Count > 0)
            {
                at = Math.Max(at, plan.IndexOf(marketing[0]));
            }

            foreach (var session in afterSignUp)
            {
                at = _random.Int(at + 1, plan.Count);
                plan.Insert(at, session);
            }

            Render(plan);
        }

        /// <summary>Merges ordered streams at random while keeping each stream's own order.</summary>
        private List<Session> Interleave(List<Session>[] streams)
        {
            var merged = new List<Session>();
            var heads = new int[streams.Length];
            for (var remaining = streams.Sum(s => s.Count); remaining > 0; remaining--)
            {
                var pick = _random.Int(0, remaining - 1);
                for (var i = 0; i < streams.Length; i++)
                {
                    var left = streams[i].Count - heads[i];
                    if (pick < left)
                    {
                        merged.Add(streams[i][heads[i]++]);
                        break;
                    }

                    pick -= left;
                }
            }

            return merged;
        }

        /// <summary>Gives each session a start time over the last 30 days, in order, and renders it.</summary>
        private void Render(List<Session> plan)
        {
            var starts = new List<DateTimeOffset>(plan.Count);
            for (var i = 0; i < plan.Count; i++)
            {
                var ago = _random.Long((long)Latest.TotalMilliseconds, (long)Earliest.TotalMilliseconds);
                starts.Add(_now.AddMilliseconds(-ago));
            }

            starts.Sort();
            var first = _events.Count;
            var ready = DateTimeOffset.MinValue;
            for (var i = 0; i < plan.Count; i++)
            {
                _clock = starts[i] > ready ? starts[i] : ready;
                _source = plan[i].Source;
                plan[i].Render();
                ready = _clock.AddMinutes(_random.Int(2, 30));
            }

            // A dense timeline can run late: pull the person's whole history back so that it ends before now.
            var last = _events.Count > first ? _events[^1].Timestamp : _now;
            var overrun = last - _now.AddMinutes(-1);
            for (var i = first; i < _events.Count; i++)
            {
                var e = _events[i];
                if (overrun > TimeSpan.Zero)
                {
                    e.Timestamp -= overrun;
                }

                e.Message["timestamp"] = Iso(e.Timestamp);
                if (e.Message["traits"] is JsonObject traits && traits.ContainsKey("createdAt"))
                {
                    traits["createdAt"] = Iso(e.Timestamp);
                }
            }
        }

        /// <summary>Stamps what every event has (library, timestamp, messageId) and moves the clock on.</summary>
        private void Emit(JsonObject message, JsonObject? context = null)
        {
            context ??= [];
            context.Insert(0, "library", Library(_source));
            message["context"] = context;
            message["timestamp"] = null;
            message["messageId"] = NewGuid();
            _events.Add(new DemoEvent(_source, _sequence++, message, _clock));
            _clock = _clock.AddMilliseconds(_random.Int(3_000, 90_000));
        }

        private static JsonObject Library(string source) => source switch
        {
            DemoSources.Website => new JsonObject { ["name"] = "analytics.js", ["version"] = "next-1.81.0" },
            DemoSources.Cms => new JsonObject { ["name"] = "analytics-wordpress", ["version"] = "1.0.14" },
            DemoSources.MarketingAutomation => new JsonObject { ["name"] = "analytics-node", ["version"] = "2.2.0" },
            _ => new JsonObject { ["name"] = "analytics-java", ["version"] = "3.5.4" },
        };

        private static JsonObject Message(string type, string? userId, string? anonymousId)
        {
            var message = new JsonObject { ["type"] = type };
            if (userId is not null)
            {
                message["userId"] = userId;
            }

            if (anonymousId is not null)
            {
                message["anonymousId"] = anonymousId;
            }

            return message;
        }
    }
}
