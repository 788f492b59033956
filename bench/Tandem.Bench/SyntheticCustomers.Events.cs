using System.Globalization;
using System.Text.Json;

namespace Tandem.Bench;

/// <summary>What each kind of event looks like as the SDKs send it, and who the synthetic people are.</summary>
internal sealed partial class SyntheticCustomers
{
    private static readonly string[] FirstNames =
        ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Margaret", "Dennis", "Radia", "Tim",
         "Sophie", "Hugo", "Chloé", "Lucas", "Emma", "Noah", "Mia", "Leon", "Aisha", "Kenji", "Priya", "Mateo"];

    private static readonly string[] LastNames =
        ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Hamilton", "Ritchie", "Perlman",
         "Berners-Lee", "Martin", "Bernard", "Dubois", "Moreau", "Laurent", "Schmidt", "Müller", "Rossi", "Tanaka", "Patel", "García", "Kowalski"];

    private static readonly string[] Domains = ["gmail.com", "outlook.com", "yahoo.com", "proton.me", "icloud.com", "fastmail.com"];

    private static readonly (string City, string Country)[] Places =
        [("Paris", "FR"), ("Lyon", "FR"), ("Berlin", "DE"), ("Munich", "DE"), ("London", "GB"), ("Madrid", "ES"), ("Milan", "IT"),
         ("Amsterdam", "NL"), ("New York", "US"), ("Austin", "US"), ("Toronto", "CA"), ("Tokyo", "JP"), ("Bangalore", "IN"), ("São Paulo", "BR")];

    private static readonly string[] Titles =
        ["Engineer", "Product Manager", "Designer", "Data Analyst", "Marketing Lead", "CTO", "Founder", "Sales Manager", "Consultant", "Student"];

    private static readonly string[] Plans = ["free", "free", "free", "free", "free", "free", "pro", "pro", "pro", "business"];

    private static readonly string[] CompanyWords =
        ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Stark", "Wayne", "Tyrell", "Soylent", "Cyberdyne", "Aperture",
         "Wonka", "Oscorp", "Massive", "Dunder", "Pied Piper", "Gringotts", "Monarch", "Nakatomi"];

    private static readonly string[] CompanyKinds = ["Labs", "Systems", "Logistics", "Foods", "Media", "Health", "Capital", "Studio"];

    private static readonly string[] Industries = ["Software", "Retail", "Finance", "Healthcare", "Education", "Manufacturing", "Media"];

    private static readonly string[] UserAgents =
        ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0 Safari/537.36",
         "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) Safari/605.1.15",
         "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Mobile/15E148",
         "Mozilla/5.0 (Linux; Android 14; Pixel 8) Chrome/131.0 Mobile",
         "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0"];

    private static readonly (string Manufacturer, string Model, string Os, string Version)[] Phones =
        [("Apple", "iPhone15,3", "iOS", "17.5"), ("Apple", "iPhone14,5", "iOS", "16.7"), ("Google", "Pixel 8", "Android", "14"), ("Samsung", "SM-S918B", "Android", "14")];

    private static readonly string[] Referrers = ["https://www.google.com/", "https://duckduckgo.com/", "https://t.co/", "https://news.ycombinator.com/", ""];

    private static readonly string[] Searches = ["desk", "oak chair", "lamp", "standing desk", "monitor arm", "gift"];

    private static readonly Product[] Products = [.. Catalog()];

    private static readonly WebPage[] AnonymousPages =
        [new("Home", "/", "Northwind"), new("Pricing", "/pricing", "Pricing"), new("Blog", "/blog/remote-office", "Remote office"),
         .. Products.Take(40).Select(p => new WebPage("Product", p.Path, p.Name))];

    private static readonly WebPage[] SignedInPages =
        [new("Account", "/account", "Your account"), new("Orders", "/account/orders", "Orders"), new("Cart", "/cart", "Cart"),
         .. Products.Select(p => new WebPage("Product", p.Path, p.Name))];

    private static readonly string[] Screens = ["Home", "Search", "Product", "Cart", "Account", "Orders"];

    private readonly record struct WebPage(string Name, string Path, string Title);

    private readonly record struct Product(string Id, string Name, string Category, decimal Price, string Path);

    private static IEnumerable<Product> Catalog()
    {
        string[] materials = ["Oak", "Walnut", "Steel", "Linen", "Bamboo", "Felt", "Cork", "Glass"];
        string[] things = ["Desk", "Chair", "Lamp", "Shelf", "Stool", "Mat", "Tray", "Monitor Arm", "Cabinet", "Bench"];
        var n = 0;
        foreach (var thing in things)
        {
            foreach (var material in materials)
            {
                var name = material + " " + thing;
                var slug = name.ToLowerInvariant().Replace(' ', '-');
                yield return new Product($"sku-{1000 + n}", name, thing, 9.90m + (n * 37 % 400), "/p/" + slug);
                n++;
            }
        }
    }

    private void WriteEvent(Utf8JsonWriter w, int p, in Person person, int k, Kind kind, DateTimeOffset at)
    {
        var device = person.DeviceAt(k);
        var app = device == 2 && person.SecondIsApp;
        var server = kind == Kind.ServerTrack;
        var signedIn = kind is not (Kind.AnonymousPage or Kind.AnonymousTrack);
        var anonymousId = server ? null : AnonymousId(p, device);
        var page = signedIn ? Pick(SignedInPages) : Pick(AnonymousPages);
        w.WriteStartObject();
        switch (kind)
        {
            case Kind.AnonymousPage or Kind.Page when app:
                w.WriteString("type"u8, "screen");
                w.WriteString("name"u8, Pick(Screens));
                w.WriteStartObject("properties"u8);
                w.WriteString("from"u8, Pick(Screens));
                w.WriteEndObject();
                break;
            case Kind.AnonymousPage or Kind.Page:
                w.WriteString("type"u8, "page");
                w.WriteString("name"u8, page.Name);
                w.WriteStartObject("properties"u8);
                w.WriteString("path"u8, page.Path);
                w.WriteString("title"u8, page.Title);
                w.WriteEndObject();
                break;
            case Kind.AnonymousTrack or Kind.Track:
                WriteTrack(w, kind == Kind.AnonymousTrack);
                break;
            case Kind.ServerTrack:
                WriteServerTrack(w);
                break;
            case Kind.SignedUp:
                w.WriteString("type"u8, "track");
                w.WriteString("event"u8, "Signed Up");
                w.WriteStartObject("properties"u8);
                w.WriteString("method"u8, _random.Next(3) == 0 ? "google" : "email");
                w.WriteString("plan"u8, Of(Plans, p, 4));
                w.WriteEndObject();
                break;
            case Kind.SignUp or Kind.Login:
                w.WriteString("type"u8, "identify");
                WriteTraits(w, p, kind == Kind.SignUp, at);
                break;
            case Kind.Alias:
                w.WriteString("type"u8, "alias");
                w.WriteString("previousId"u8, anonymousId);
                break;
            case Kind.Group:
                WriteGroup(w, p);
                break;
            default:
                throw new InvalidOperationException($"No event shape for {kind}.");
        }

        if (anonymousId is not null)
        {
            w.WriteString("anonymousId"u8, anonymousId);
        }

        if (signedIn)
        {
            w.WriteString("userId"u8, UserId(p));
        }

        w.WriteString("messageId"u8, MessageId(app ? "" : server ? "node-" : "ajs-next-"));
        w.WriteString("timestamp"u8, Iso(at));
        w.WriteStartObject("context"u8);
        w.WriteStartObject("library"u8);
        var phone = Of(Phones, p, 9);
        w.WriteString("name"u8, server ? "analytics-node" : !app ? "analytics.js" : phone.Os == "iOS" ? "analytics-swift" : "analytics-kotlin");
        w.WriteString("version"u8, server ? "2.2.0" : app ? "1.6.1" : "next-1.81.0");
        w.WriteEndObject();
        if (app)
        {
            // The mobile SDKs send device and OS, and the traits of the last identify.
            w.WriteStartObject("device"u8);
            w.WriteString("manufacturer"u8, phone.Manufacturer);
            w.WriteString("model"u8, phone.Model);
            w.WriteEndObject();
            w.WriteStartObject("os"u8);
            w.WriteString("name"u8, phone.Os);
            w.WriteString("version"u8, phone.Version);
            w.WriteEndObject();
            if (signedIn)
            {
                w.WriteStartObject("traits"u8);
                w.WriteString("email"u8, Email(p));
                w.WriteEndObject();
            }
        }
        else if (!server)
        {
            w.WriteStartObject("page"u8);
            w.WriteString("path"u8, page.Path);
            if (!signedIn)
            {
                w.WriteString("referrer"u8, Pick(Referrers));
            }

            w.WriteEndObject();
            w.WriteString("userAgent"u8, Of(UserAgents, p, 8 + device));
        }

        w.WriteEndObject();
        w.WriteEndObject();
        _emitted++;
    }

    private void WriteTrack(Utf8JsonWriter w, bool anonymous)
    {
        var product = Pick(Products);
        var roll = _random.Next(anonymous ? 2 : 4);
        w.WriteString("type"u8, "track");
        w.WriteString("event"u8, roll switch { 0 => "Product Viewed", 1 => "Products Searched", 2 => "Product Added", _ => "Checkout Started" });
        w.WriteStartObject("properties"u8);
        switch (roll)
        {
            case 0:
                w.WriteString("product_id"u8, product.Id);
                w.WriteString("name"u8, product.Name);
                w.WriteString("category"u8, product.Category);
                w.WriteNumber("price"u8, product.Price);
                break;
            case 1:
                w.WriteString("query"u8, Pick(Searches));
                break;
            case 2:
                w.WriteString("product_id"u8, product.Id);
                w.WriteNumber("quantity"u8, 1 + _random.Next(3));
                w.WriteNumber("price"u8, product.Price);
                break;
            default:
                w.WriteNumber("value"u8, product.Price * (1 + _random.Next(3)));
                w.WriteString("currency"u8, "EUR");
                break;
        }

        w.WriteEndObject();
    }

    private void WriteServerTrack(Utf8JsonWriter w)
    {
        var order = _random.Next(2) == 0;
        w.WriteString("type"u8, "track");
        w.WriteString("event"u8, order ? "Order Completed" : "Invoice Paid");
        w.WriteStartObject("properties"u8);
        w.WriteString(order ? "order_id"u8 : "invoice_id"u8, (order ? "ord_" : "inv_") + _emitted.ToString("x7", CultureInfo.InvariantCulture));
        w.WriteNumber("total"u8, Pick(Products).Price * (1 + _random.Next(3)));
        w.WriteString("currency"u8, "EUR");
        w.WriteEndObject();
    }

    private void WriteTraits(Utf8JsonWriter w, int p, bool all, DateTimeOffset at)
    {
        w.WriteStartObject("traits"u8);
        w.WriteString("email"u8, Email(p));
        w.WriteString("firstName"u8, Of(FirstNames, p, 1));
        w.WriteString("lastName"u8, Of(LastNames, p, 2));
        if (all)
        {
            var (city, country) = Of(Places, p, 3);
            w.WriteString("plan"u8, Of(Plans, p, 4));
            w.WriteString("city"u8, city);
            w.WriteString("country"u8, country);
            w.WriteString("company"u8, CompanyName(Company(p)));
            w.WriteString("title"u8, Of(Titles, p, 6));
            w.WriteString("phone"u8, Phone(p));
            w.WriteString("createdAt"u8, Iso(at));
        }

        w.WriteEndObject();
    }

    private void WriteGroup(Utf8JsonWriter w, int p)
    {
        var company = Company(p);
        var h = Mix(_seed ^ (ulong)company);
        w.WriteString("type"u8, "group");
        w.WriteString("groupId"u8, "grp_" + company.ToString("x6", CultureInfo.InvariantCulture));
        w.WriteStartObject("traits"u8);
        w.WriteString("name"u8, CompanyName(company));
        w.WriteString("industry"u8, Industries[(int)(h % (ulong)Industries.Length)]);
        w.WriteNumber("employees"u8, 5 + (int)((h >> 32) % 5_000));
        w.WriteString("plan"u8, Plans[(int)((h >> 16) % (ulong)Plans.Length)]);
        w.WriteEndObject();
    }

    private static string UserId(int p) => "usr_" + unchecked((uint)p * 2654435761u).ToString("x8", CultureInfo.InvariantCulture);

    private string Email(int p) =>
        $"{Of(FirstNames, p, 1)}.{Of(LastNames, p, 2)}.{p}@{Of(Domains, p, 7)}".ToLowerInvariant()
            .Replace('é', 'e').Replace('ü', 'u').Replace('í', 'i');

    private static string Phone(int p) =>
        string.Create(CultureInfo.InvariantCulture, $"+1 {200 + (p / 10_000_000 % 800):D3}-{p / 10_000 % 1000:D3}-{p % 10_000:D4}");

    private int Company(int p) => (int)(Hash(p, 5) % (ulong)_companies);

    private static string CompanyName(int c)
    {
        var name = CompanyWords[c % CompanyWords.Length] + " " + CompanyKinds[c / CompanyWords.Length % CompanyKinds.Length];
        var round = c / (CompanyWords.Length * CompanyKinds.Length);
        return round == 0 ? name : name + " " + (round + 1).ToString(CultureInfo.InvariantCulture);
    }

    private string AnonymousId(int p, int device) => Uuid(Hash(p, 16 + device), Hash(p, 32 + device));

    private string MessageId(string prefix)
    {
        var a = Mix(_seed ^ Mix((ulong)_emitted * 2));
        var b = Mix(_seed ^ Mix(((ulong)_emitted * 2) + 1));
        return prefix.Length > 0
            ? prefix + a.ToString("x16", CultureInfo.InvariantCulture) + b.ToString("x16", CultureInfo.InvariantCulture)
            : Uuid(a, b);
    }

    private static string Uuid(ulong a, ulong b)
    {
        Span<byte> bytes = stackalloc byte[16];
        BitConverter.TryWriteBytes(bytes, a);
        BitConverter.TryWriteBytes(bytes[8..], b);
        bytes[7] = (byte)((bytes[7] & 0x0F) | 0x40);
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80);
        return new Guid(bytes).ToString();
    }

    private static string Iso(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    private T Pick<T>(T[] items) => items[_random.Next(items.Length)];

    private T Of<T>(T[] items, int p, int salt) => items[(int)(Hash(p, salt) % (ulong)items.Length)];
}
