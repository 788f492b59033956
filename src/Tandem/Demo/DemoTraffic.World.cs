using System.Globalization;

namespace Tandem.Demo;

internal sealed partial class DemoTraffic
{
    private sealed record Product(string Id, string Sku, string Name, string Category, decimal Price, string Slug);

    private sealed record Article(string Id, string Title, string Category, string Slug);

    private sealed record Campaign(string Id, string Name, string Subject, string LinkPath);

    private sealed record Account(string Id, string Name, string Domain, string Industry, int Employees, string Plan);

    private sealed record Device(string AnonymousId, string UserAgent, string Ip, string Timezone);

    /// <summary>One simulated customer: who they are, what they own, and which sources they show up in.</summary>
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

    /// <summary>The world the timelines happen in: catalogue, accounts, people and their devices.</summary>
    private sealed partial class Simulation
    {
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
    }
}
