using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Tandem.Tests.Support;
using Tandem.Trust;

namespace Tandem.Tests.Trust;

/// <summary>What the APIs write to the audit log: who changed what, before and after, and token use.</summary>
public sealed class AuditTrailTests
{
    [Fact]
    public async Task Changes_AreRecordedWithActorBeforeAndAfter_AndSecretsLeftOut()
    {
        await using var server = await TandemServer.StartAsync();
        var source = await server.CreateSourceAsync("Website");
        var id = source.GetProperty("id").GetString()!;
        var writeKey = source.GetProperty("writeKey").GetString()!;
        await Send(server, HttpMethod.Patch, $"/api/v1/sources/{id}", new { name = "Web shop" }, HttpStatusCode.OK);
        var rotated = await Send(server, HttpMethod.Post, $"/api/v1/sources/{id}/rotate-key", null, HttpStatusCode.OK);
        await Send(server, HttpMethod.Put, "/api/v1/identity/types/crm_id", new { limit = 1, priority = 4 }, HttpStatusCode.Created);
        await Send(server, HttpMethod.Put, "/api/v1/computed-traits/orders", new { @event = "Order Completed", aggregation = "count" }, HttpStatusCode.Created);
        await Send(server, HttpMethod.Delete, "/api/v1/computed-traits/orders", null, HttpStatusCode.NoContent);
        var member = await server.CreateMemberAsync("ada@example.com", ["marketer"]);
        var (tokenId, _) = await server.CreateTokenAsync([Scopes.ProfilesRead], ownerId: member);

        var records = (await server.AdminGetAsync("/api/v1/audit?limit=100")).GetProperty("records").EnumerateArray().Reverse().ToList();
        var changes = records.Where(r => r.GetProperty("action").GetString() != "api.call").ToList();
        Assert.Equal(["source.create", "source.update", "source.rotate_key", "identity_type.put", "computed_trait.put", "computed_trait.delete", "member.create", "token.create"],
            changes.Select(r => r.GetProperty("action").GetString()));
        Assert.All(changes, r => Assert.Equal("token:" + TokenRegistry.FirstAdminTokenId, r.GetProperty("actor").GetString()));

        var rename = changes[1];
        Assert.Equal("source:" + id, rename.GetProperty("target").GetString());
        Assert.Equal("Website", rename.GetProperty("before").GetProperty("name").GetString());
        Assert.Equal("Web shop", rename.GetProperty("after").GetProperty("name").GetString());
        Assert.Equal(JsonValueKind.Null, changes[3].GetProperty("before").ValueKind);
        Assert.Equal(1, changes[3].GetProperty("after").GetProperty("limit").GetInt32());
        Assert.Equal("Order Completed", changes[5].GetProperty("before").GetProperty("event").GetString());
        Assert.Equal("token:" + tokenId, changes[7].GetProperty("target").GetString());

        // Write keys and token secrets are credentials: the log keeps the last four characters of a key, no secret.
        var all = string.Join('\n', records.Select(r => r.GetRawText()));
        Assert.DoesNotContain(writeKey, all, StringComparison.Ordinal);
        Assert.DoesNotContain(rotated.GetProperty("writeKey").GetString()!, all, StringComparison.Ordinal);
        Assert.Equal("…" + writeKey[^4..], changes[2].GetProperty("before").GetProperty("writeKeyEnding").GetString());

        // Each change made with a token is also recorded as token use, with its answer.
        Assert.Contains(records, r => r.GetProperty("action").GetString() == "api.call"
            && r.GetProperty("target").GetString() == "PATCH /api/v1/sources/{id}" && r.GetProperty("detail").GetString() == $"answered 200; id={id}");

        var verify = await server.AdminGetAsync("/api/v1/audit/verify");
        Assert.True(verify.GetProperty("intact").GetBoolean(), verify.GetRawText());
    }

    [Fact]
    public async Task TokenUse_RefusedCallsAreRecorded_PassingReadsAreNot()
    {
        await using var server = await TandemServer.StartAsync();
        var (tokenId, secret) = await server.CreateTokenAsync([Scopes.SourcesRead]);
        Assert.Equal(HttpStatusCode.OK, (await server.Http.SendAsync(server.As("Bearer " + secret, HttpMethod.Get, "/api/v1/sources"))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await server.Http.SendAsync(server.As("Bearer " + secret, HttpMethod.Get, "/api/v1/members"))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await server.Http.SendAsync(server.As("Bearer " + secret, HttpMethod.Post, "/api/v1/sources", new { name = "x" }))).StatusCode);

        var calls = (await server.AdminGetAsync($"/api/v1/audit?actor=token:{tokenId}")).GetProperty("records").EnumerateArray()
            .Select(r => $"{r.GetProperty("target").GetString()} {r.GetProperty("detail").GetString()}").Reverse();
        Assert.Equal(["GET /api/v1/members answered 403", "POST /api/v1/sources answered 403"], calls);
    }

    [Fact]
    public async Task SignIns_SuccessesFailuresAndLockouts_AreRecorded()
    {
        await using var server = await TandemServer.StartAsync();
        var id = await server.CreateMemberAsync("ada@example.com", ["marketer"], "correct horse battery");
        using var browser = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer() }) { BaseAddress = server.BaseAddress };
        for (var i = 0; i < MemberRegistry.MaxFailedSignIns; i++)
        {
            await browser.PostAsJsonAsync("/api/v1/session", new { email = "Ada@example.com", password = "guess " + i });
        }

        server.Clock.Advance(MemberRegistry.LockoutDuration);
        await HttpAssert.JsonAsync(await browser.PostAsJsonAsync("/api/v1/session", new { email = "ada@example.com", password = "correct horse battery" }), HttpStatusCode.OK);

        var records = (await server.AdminGetAsync("/api/v1/audit?action=session.*")).GetProperty("records").EnumerateArray().Reverse().ToList();
        Assert.Equal([.. Enumerable.Repeat("session.sign_in_failed", MemberRegistry.MaxFailedSignIns - 1), "session.locked_out", "session.sign_in"],
            records.Select(r => r.GetProperty("action").GetString()));
        // Against a keyed hash of the email typed, the same for every attempt, never the email itself.
        var target = records[0].GetProperty("target").GetString();
        Assert.StartsWith("email-hash:", target, StringComparison.Ordinal);
        Assert.All(records.SkipLast(1), r => Assert.Equal(target, r.GetProperty("target").GetString()));
        Assert.Equal("member:" + id, records[^1].GetProperty("actor").GetString());
    }

    private static async Task<JsonElement> Send(TandemServer server, HttpMethod method, string path, object? body, HttpStatusCode expected)
    {
        using var response = await server.Http.SendAsync(server.Admin(method, path, body));
        return expected == HttpStatusCode.NoContent
            ? default
            : await HttpAssert.JsonAsync(response, expected);
    }
}
