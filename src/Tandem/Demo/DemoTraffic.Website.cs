using System.Globalization;
using System.Text.Json.Nodes;

namespace Tandem.Demo;

internal sealed partial class DemoTraffic
{
    /// <summary>What the website (analytics.js) sends.</summary>
    private sealed partial class Simulation
    {
        // ---- website (analytics.js) ----

        /// <param name="mustBuy">Ends with an order whatever the dice say: the README's customer always has one.</param>
        private void Browse(Visit visit, bool mayBuy, bool mustBuy = false)
        {
            visit.Referrer = _random.ArrayElement(Referrers);
            if (_random.Bool(0.5f))
            {
                Page(visit, "Home", "/", $"{StoreName} – Everything for home and work");
            }
            else
            {
                var category = _random.ArrayElement(_products).Category;
                Page(visit, "Category", "/c/" + Slug(category), $"{category} | {StoreName}");
            }

            for (var i = _random.WeightedRandom([1, 2, 3], [0.5f, 0.35f, 0.15f]); i > 0; i--)
            {
                var product = _random.ArrayElement(_products);
                Page(visit, "Product", "/products/" + product.Slug, $"{product.Name} | {StoreName}");
                Track(visit, "Product Viewed", ProductProperties(product, null, visit));
                if (_random.Bool(0.35f))
                {
                    if (visit.Cart.Count == 0)
                    {
                        visit.CartId = NewGuid();
                    }

                    var quantity = _random.WeightedRandom([1, 2, 3], [0.75f, 0.2f, 0.05f]);
                    visit.Cart.Add((product, quantity));
                    Track(visit, "Product Added", ProductProperties(product, quantity, visit));
                }
            }

            if (mustBuy && visit.Cart.Count == 0)
            {
                var product = _random.ArrayElement(_products);
                visit.CartId = NewGuid();
                visit.Cart.Add((product, 1));
                Track(visit, "Product Added", ProductProperties(product, 1, visit));
            }

            if (mayBuy && visit.Cart.Count > 0 && (mustBuy || _random.Bool(0.6f)))
            {
                Page(visit, "Checkout", "/checkout", $"Checkout | {StoreName}");
                CompleteOrder(visit);
            }
        }

        private void SignUp(Person person, Visit visit)
        {
            visit.Referrer = _random.ArrayElement(Referrers);
            Page(visit, "Home", "/", $"{StoreName} – Everything for home and work");
            Page(visit, "Sign Up", "/signup", $"Create your account | {StoreName}");
            visit.UserId = person.UserId;
            var traits = Contact(person);
            traits["plan"] = person.Plan;
            traits["createdAt"] = null; // the identify's own timestamp, once the timeline is final
            Identify(visit, traits);
            Track(visit, "Signed Up", new JsonObject { ["method"] = _random.ArrayElement(SignUpMethods), ["plan"] = person.Plan });
            Page(visit, "Account", "/account", $"Your account | {StoreName}");
        }

        /// <summary>The traits a signed-in visitor is identified with.</summary>
        private static JsonObject Contact(Person person) => new()
        {
            ["email"] = person.Email,
            ["firstName"] = person.FirstName,
            ["lastName"] = person.LastName,
        };

        private void LogIn(Person person, Visit visit)
        {
            visit.Referrer = _random.ArrayElement(Referrers);
            Page(visit, "Log In", "/login", $"Log in | {StoreName}");
            visit.UserId = person.UserId;
            Identify(visit, Contact(person));
            Page(visit, "Account", "/account", $"Your account | {StoreName}");
        }

        private void CompleteOrder(Visit visit)
        {
            var products = new JsonArray();
            var revenue = 0m;
            foreach (var (product, quantity) in visit.Cart)
            {
                revenue += product.Price * quantity;
                products.Add(new JsonObject
                {
                    ["product_id"] = product.Id,
                    ["sku"] = product.Sku,
                    ["name"] = product.Name,
                    ["category"] = product.Category,
                    ["price"] = product.Price,
                    ["quantity"] = quantity,
                });
            }

            var shipping = revenue >= 100m ? 0m : 5.99m;
            var tax = Math.Round(revenue * 0.08m, 2);
            _orders++;
            Track(visit, "Order Completed", new JsonObject
            {
                ["order_id"] = "ORD-" + (100000 + (_orders * 37) + _random.Int(0, 36)).ToString(CultureInfo.InvariantCulture),
                ["checkout_id"] = visit.CartId,
                ["total"] = revenue + shipping + tax,
                ["revenue"] = revenue,
                ["shipping"] = shipping,
                ["tax"] = tax,
                ["currency"] = "USD",
                ["products"] = products,
            });
            visit.Cart.Clear();
        }

        private static JsonObject ProductProperties(Product product, int? quantity, Visit visit)
        {
            var properties = new JsonObject
            {
                ["product_id"] = product.Id,
                ["sku"] = product.Sku,
                ["name"] = product.Name,
                ["category"] = product.Category,
                ["price"] = product.Price,
                ["currency"] = "USD",
                ["url"] = SiteUrl + "/products/" + product.Slug,
            };
            if (quantity is { } q)
            {
                properties["quantity"] = q;
                properties["cart_id"] = visit.CartId;
            }

            return properties;
        }

        private void Page(Visit visit, string name, string path, string title)
        {
            if (visit.Url.Length > 0)
            {
                visit.Referrer = visit.Url;
            }

            visit.Path = path;
            visit.Url = SiteUrl + path;
            visit.Title = title;
            var message = Message("page", visit.UserId, visit.Device.AnonymousId);
            message["name"] = name;
            message["properties"] = new JsonObject
            {
                ["name"] = name,
                ["path"] = path,
                ["referrer"] = visit.Referrer,
                ["search"] = "",
                ["title"] = title,
                ["url"] = visit.Url,
            };
            Emit(message, BrowserContext(visit));
        }

        private void Track(Visit visit, string name, JsonObject properties)
        {
            var message = Message("track", visit.UserId, visit.Device.AnonymousId);
            message["event"] = name;
            message["properties"] = properties;
            Emit(message, BrowserContext(visit));
        }

        private void Identify(Visit visit, JsonObject traits)
        {
            var message = Message("identify", visit.UserId, visit.Device.AnonymousId);
            message["traits"] = traits;
            Emit(message, BrowserContext(visit));
        }

        private static JsonObject BrowserContext(Visit visit, string? email = null)
        {
            var context = new JsonObject
            {
                ["page"] = new JsonObject
                {
                    ["path"] = visit.Path,
                    ["referrer"] = visit.Referrer,
                    ["search"] = "",
                    ["title"] = visit.Title,
                    ["url"] = visit.Url,
                },
                ["userAgent"] = visit.Device.UserAgent,
                ["ip"] = visit.Device.Ip,
                ["locale"] = "en-US",
                ["timezone"] = visit.Device.Timezone,
            };
            if (email is not null)
            {
                context["traits"] = new JsonObject { ["email"] = email };
            }

            if (BannerAnswer(visit.Device) is { } preferences)
            {
                context["consent"] = new JsonObject { ["categoryPreferences"] = preferences };
            }

            return context;
        }

        /// <summary>
        /// What the device's cookie banner was answered, as analytics.js's consent wrapper sends it on
        /// every event: most accept everything, some only analytics, some ignore the banner (no
        /// decision). Drawn from the anonymous id, not the random source, so adding it changed no other data.
        /// </summary>
        private static JsonObject? BannerAnswer(Device device)
        {
            var roll = (uint)System.IO.Hashing.XxHash32.HashToUInt32(System.Text.Encoding.UTF8.GetBytes(device.AnonymousId)) % 100;
            return roll switch
            {
                < 55 => new JsonObject { ["analytics"] = true, ["personalization"] = true, ["marketing"] = true, ["advertising"] = true },
                < 75 => new JsonObject { ["analytics"] = true, ["personalization"] = true, ["marketing"] = true, ["advertising"] = false },
                < 90 => new JsonObject { ["analytics"] = true, ["personalization"] = false, ["marketing"] = false, ["advertising"] = false },
                _ => null,
            };
        }
    }
}
