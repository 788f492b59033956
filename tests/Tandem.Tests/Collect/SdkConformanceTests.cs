using System.Text.Json;
using Tandem.Tests.Support;

namespace Tandem.Tests.Collect;

/// <summary>
/// The real client libraries from npm, pointed at a real Tandem: analytics-node, rudder-sdk-node, and
/// analytics-next in headless Chromium. Each sends identify, track, page, group and alias through a
/// proxy that answers 503 to the first N posts (after the server stored them), so the SDK retries.
/// The test reads back what Tandem stored and checks every field the SDK was given, and that the
/// retries created no duplicates. Scripts live in tests/conformance (installed by ./test).
/// </summary>
public sealed class SdkConformanceTests
{
    public static TheoryData<string, int> Scripts => new()
    {
        { "segment-node.mjs", 0 },
        { "segment-node.mjs", 1 },
        { "rudder-node.mjs", 0 },
        { "rudder-node.mjs", 1 },
        { "analytics-next.mjs", 0 },
        { "analytics-next.mjs", 2 },
    };

    [Theory]
    [MemberData(nameof(Scripts))]
    public async Task RealSdk_SendsEveryCallType_TandemStoresEveryFieldOnce(string script, int failFirst)
    {
        var directory = Path.Combine(ChildProcess.RepositoryRoot, "tests", "conformance");
        Assert.True(Directory.Exists(Path.Combine(directory, "node_modules")),
            "tests/conformance/node_modules is missing: run ./test, which installs the SDKs with npm");

        await using var server = await TandemServer.StartAsync();
        var (code, output, error) = await ChildProcess.RunAsync("node",
            [script, "--target", server.BaseAddress.ToString().TrimEnd('/'), "--writeKey", server.WriteKey, "--fail-first", failFirst.ToString(System.Globalization.CultureInfo.InvariantCulture), "--timeout-ms", "60000"],
            directory, TimeSpan.FromSeconds(90));
        Assert.True(code == 0, $"{script} exited {code}: {error}");
        var run = JsonDocument.Parse(output.Trim().Split('\n')[^1]).RootElement;

        var requests = run.GetProperty("requests").EnumerateArray().ToList();
        Assert.Equal(failFirst, requests.Count(r => r.GetProperty("forcedFailure").GetBoolean()));
        Assert.All(requests.Where(r => r.GetProperty("method").GetString() == "POST"),
            r => Assert.Equal(200, r.GetProperty("upstreamStatus").GetInt32()));

        var stored = await server.StoredEventsAsync();
        var calls = run.GetProperty("calls").EnumerateArray().ToList();
        Assert.Equal(5, calls.Count);
        Assert.Equal(calls.Count, stored.Count);
        var byMessageId = stored.ToDictionary(e => e.GetProperty("messageId").GetString()!);
        var libraryName = run.GetProperty("contextLibraryName").GetString();
        foreach (var call in calls)
        {
            var messageId = call.GetProperty("messageId").GetString()!;
            Assert.True(byMessageId.TryGetValue(messageId, out var e), $"{call.GetProperty("type")} {messageId} was not stored");
            Assert.Equal(call.GetProperty("type").GetString(), e.GetProperty("type").GetString());
            foreach (var field in new[] { "userId", "anonymousId", "event", "groupId", "previousId" })
            {
                if (call.TryGetProperty(field, out var expected))
                {
                    Assert.Equal(expected.GetString(), e.GetProperty(field).GetString());
                }
            }

            if (call.TryGetProperty("name", out var name))
            {
                Assert.Equal(name.GetString(), e.TryGetProperty("name", out var n) ? n.GetString() : e.GetProperty("properties").GetProperty("name").GetString());
            }

            foreach (var bag in new[] { "properties", "traits" })
            {
                if (call.TryGetProperty(bag, out var sent))
                {
                    var kept = e.GetProperty(bag);
                    foreach (var property in sent.EnumerateObject())
                    {
                        Assert.True(kept.TryGetProperty(property.Name, out var value), $"{bag}.{property.Name} missing from stored {e}");
                        Assert.Equal(property.Value.GetRawText(), value.GetRawText());
                    }
                }
            }

            Assert.Equal(libraryName, e.GetProperty("context").GetProperty("library").GetProperty("name").GetString());
            Assert.True(DateTimeOffset.TryParse(e.GetProperty("receivedAt").GetString(), out _));
            Assert.True(DateTimeOffset.TryParse(e.GetProperty("timestamp").GetString(), out _));
        }

        Assert.Empty(await server.RejectionsAsync());
    }

    [Fact]
    public async Task RealSegmentNode_EmojiCutInHalfWhileSuppressing_EveryEventStoredAndTheCustomerFound()
    {
        var directory = Path.Combine(ChildProcess.RepositoryRoot, "tests", "conformance");
        Assert.True(Directory.Exists(Path.Combine(directory, "node_modules")),
            "tests/conformance/node_modules is missing: run ./test, which installs the SDKs with npm");

        await using var server = await TandemServer.StartAsync();
        using (var suppress = server.Admin(HttpMethod.Post, "/api/v1/privacy/requests", new { type = "suppress", identifier = "email:gone@example.com" }))
        {
            await HttpAssert.JsonAsync(await server.Http.SendAsync(suppress), System.Net.HttpStatusCode.Created);
        }

        var (code, output, error) = await ChildProcess.RunAsync("node",
            ["segment-node-broken-text.mjs", "--target", server.BaseAddress.ToString().TrimEnd('/'), "--writeKey", server.WriteKey, "--timeout-ms", "60000"],
            directory, TimeSpan.FromSeconds(90));
        Assert.True(code == 0, $"the SDK did not deliver every call (exit {code}): {error}");
        var run = JsonDocument.Parse(output.Trim().Split('\n')[^1]).RootElement;

        var stored = (await server.StoredEventsAsync()).ToDictionary(e => e.GetProperty("messageId").GetString()!);
        var calls = run.GetProperty("calls").EnumerateArray().ToList();
        Assert.Equal(4, calls.Count);
        Assert.All(calls, c => Assert.True(stored.ContainsKey(c.GetProperty("messageId").GetString()!), $"{c} was not stored"));

        // The cut emoji is stored as U+FFFD, and the customer can be looked up by the email as stored.
        var identify = stored[calls[1].GetProperty("messageId").GetString()!];
        var email = identify.GetProperty("traits").GetProperty("email").GetString()!;
        Assert.Equal("Zo\u00eb\uFFFD@example.com", email);
        await server.CaughtUpAsync();
        var traits = await server.AdminGetAsync("/v1/profiles/user_id:" + calls[1].GetProperty("userId").GetString() + "/traits");
        Assert.Equal("Zo\u00eb\uFFFD", traits.GetProperty("traits").GetProperty("name").GetString());
        Assert.Empty(await server.RejectionsAsync());
    }
}
