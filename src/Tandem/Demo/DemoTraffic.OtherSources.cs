using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Tandem.Demo;

internal sealed partial class DemoTraffic
{
    /// <summary>What the CMS, marketing automation and CRM send.</summary>
    private sealed partial class Simulation
    {
        // ---- CMS (the blog's WordPress plugin) ----

        private void ReadArticles(Visit reader, string? email, int count)
        {
            reader.Referrer = _random.ArrayElement(Referrers);
            reader.Url = "";
            for (var i = 0; i < count; i++)
            {
                ViewArticle(reader, _random.ArrayElement(_articles), email);
            }
        }

        private void ViewArticle(Visit reader, Article article, string? email)
        {
            if (reader.Url.Length > 0)
            {
                reader.Referrer = reader.Url;
            }

            reader.Path = "/" + article.Slug;
            reader.Url = BlogUrl + reader.Path;
            reader.Title = article.Title;
            var message = Message("track", null, reader.Device.AnonymousId);
            message["event"] = "Article Viewed";
            message["properties"] = ArticleProperties(article);
            Emit(message, BrowserContext(reader, email));
        }

        private void Subscribe(Person person, Visit reader)
        {
            reader.Referrer = _random.ArrayElement(Referrers);
            reader.Url = "";
            var article = _random.ArrayElement(_articles);
            ViewArticle(reader, article, null);

            var identify = Message("identify", null, reader.Device.AnonymousId);
            identify["traits"] = new JsonObject { ["email"] = person.Email, ["firstName"] = person.FirstName };
            Emit(identify, BrowserContext(reader));

            var subscribed = Message("track", null, reader.Device.AnonymousId);
            subscribed["event"] = "Newsletter Subscribed";
            var properties = ArticleProperties(article);
            properties["newsletter"] = Newsletter;
            properties["form"] = "article_footer";
            subscribed["properties"] = properties;
            Emit(subscribed, BrowserContext(reader, person.Email));
        }

        private static JsonObject ArticleProperties(Article article) => new()
        {
            ["articleId"] = article.Id,
            ["title"] = article.Title,
            ["category"] = article.Category,
            ["url"] = BlogUrl + "/" + article.Slug,
        };

        // ---- marketing automation (keyed by email) ----

        private static string MarketingId(string email) =>
            "ma_" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(email)))[..16];

        private void MarketingIdentify(Person person, string contact, int leadScore, string stage)
        {
            var message = Message("identify", null, contact);
            message["traits"] = new JsonObject
            {
                ["email"] = person.Email,
                ["firstName"] = person.FirstName,
                ["lastName"] = person.LastName,
                ["company"] = person.Account.Name,
                ["leadScore"] = leadScore,
                ["lifecycleStage"] = stage,
            };
            Emit(message);
        }

        private void SendCampaign(Person person, string contact, Campaign campaign)
        {
            var emailId = "em_" + _random.String2(12, LowerAlphanumeric);
            EmailEvent(person, contact, "Email Delivered", campaign, emailId, null);
            if (!_random.Bool(0.55f))
            {
                return;
            }

            _clock = _clock.AddMinutes(_random.Int(1, 30));
            EmailEvent(person, contact, "Email Opened", campaign, emailId, null);
            if (_random.Bool(0.35f))
            {
                EmailEvent(person, contact, "Email Link Clicked", campaign, emailId,
                    SiteUrl + campaign.LinkPath + "?utm_source=newsletter&utm_medium=email&utm_campaign=" + Slug(campaign.Name));
            }
        }

        private void EmailEvent(Person person, string contact, string name, Campaign campaign, string emailId, string? link)
        {
            var message = Message("track", null, contact);
            message["event"] = name;
            var properties = new JsonObject
            {
                ["campaign_id"] = campaign.Id,
                ["campaign_name"] = campaign.Name,
                ["email_id"] = emailId,
                ["email_subject"] = campaign.Subject,
            };
            if (link is not null)
            {
                properties["link_url"] = link;
            }

            message["properties"] = properties;
            Emit(message, new JsonObject { ["traits"] = new JsonObject { ["email"] = person.Email } });
        }

        // ---- CRM (Salesforce-like) ----

        private void CrmContact(Person person)
        {
            var account = person.Account;
            var identify = Message("identify", person.UserId, null);
            identify["traits"] = new JsonObject
            {
                ["email"] = person.Email,
                ["firstName"] = person.FirstName,
                ["lastName"] = person.LastName,
                ["phone"] = person.Phone,
                ["title"] = person.Title,
                ["company"] = new JsonObject { ["id"] = account.Id, ["name"] = account.Name },
            };
            Emit(identify, ExternalIds(person.ContactId, "salesforce_contact_id", "users"));

            var group = Message("group", person.UserId, null);
            group["groupId"] = account.Id;
            group["traits"] = new JsonObject
            {
                ["name"] = account.Name,
                ["industry"] = account.Industry,
                ["employees"] = account.Employees,
                ["plan"] = account.Plan,
                ["website"] = "https://www." + account.Domain,
            };
            Emit(group, ExternalIds(account.Id, "salesforce_account_id", "accounts"));
        }

        private void CrmLead(Person person)
        {
            var identify = Message("identify", null, person.LeadId);
            identify["traits"] = new JsonObject
            {
                ["email"] = person.Email,
                ["firstName"] = person.FirstName,
                ["lastName"] = person.LastName,
                ["title"] = person.Title,
                ["company"] = person.Account.Name,
                ["leadSource"] = _random.ArrayElement(LeadSources),
                ["leadStatus"] = _random.ArrayElement(LeadStatuses),
            };
            Emit(identify, ExternalIds(person.LeadId, "salesforce_lead_id", "users"));
        }

        private static JsonObject ExternalIds(string id, string type, string collection) => new()
        {
            ["externalIds"] = new JsonArray(new JsonObject
            {
                ["id"] = id,
                ["type"] = type,
                ["collection"] = collection,
                ["encoding"] = "none",
            }),
        };

        /// <summary>Lower-case ASCII letters and digits, other runs of characters replaced by <paramref name="separator"/>.</summary>
        private static string Slug(string text, string separator = "-")
        {
            var slug = new StringBuilder(text.Length);
            var pending = false;
            foreach (var c in text)
            {
                if (char.IsAsciiLetterOrDigit(c))
                {
                    if (pending && slug.Length > 0)
                    {
                        slug.Append(separator);
                    }

                    slug.Append(char.ToLowerInvariant(c));
                    pending = false;
                }
                else
                {
                    pending = true;
                }
            }

            return slug.ToString();
        }
    }
}
