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
