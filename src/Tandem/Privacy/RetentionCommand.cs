using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Tandem.Cli;

namespace Tandem.Privacy;

/// <summary><c>./tandem retention show|set|run</c>: the retention API from a terminal.</summary>
internal static class RetentionCommand
{
    public static Command Build()
    {
        var (command, url, token) = ApiClient.Group("retention", "Shows and sets how long events are kept, and runs retention now (talks to a running server)");
        command.Subcommands.Add(ApiClient.Leaf("show", "Prints the retention policy, the next scheduled run and the last run", [], url, token, PrintState,
            (api, _, ct) => api.SendAsync(HttpMethod.Get, "api/v1/retention", null, ct)));

        var policy = new Argument<string>("policy")
        {
            Description = """The whole policy as JSON, e.g. '{"defaultDays": 395, "events": {"Page Viewed": 30, "Order Completed": null}}'""",
        };
        command.Subcommands.Add(ApiClient.Leaf("set", "Replaces the retention policy (null keeps forever; takes effect at the next run)", [policy], url, token, PrintState,
            (api, r, ct) => api.SendAsync(HttpMethod.Put, "api/v1/retention", Parse(r.GetValue(policy)!), ct)));
        command.Subcommands.Add(ApiClient.Leaf("run", "Runs retention now and prints what it removed", [], url, token, PrintRun,
            (api, _, ct) => api.SendAsync(HttpMethod.Post, "api/v1/retention/runs", null, ct)));
        return command;
    }

    private static JsonNode Parse(string policy)
    {
        try
        {
            return JsonNode.Parse(policy) ?? throw new ApiException(400, "The policy is null; send a JSON object such as {\"defaultDays\": 395}.");
        }
        catch (JsonException ex)
        {
            throw new ApiException(400, $"The policy is not valid JSON: {ex.Message}");
        }
    }

    private static void PrintState(JsonElement state, TextWriter output)
    {
        output.WriteLine("policy:   " + state.GetProperty("policy").GetRawText());
        output.WriteLine("next run: " + Time(state.GetProperty("nextRunAt")) + " (every " + state.GetProperty("interval").GetString() + ")");
        if (state.GetProperty("lastRun") is { ValueKind: JsonValueKind.Object } last)
        {
            output.Write("last run: ");
            PrintRun(last, output);
        }
        else
        {
            output.WriteLine("last run: none yet");
        }
    }

    private static void PrintRun(JsonElement run, TextWriter output)
    {
        var removed = run.GetProperty("removed");
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"#{run.GetProperty("id").GetInt64()} {run.GetProperty("status").GetString()} ({run.GetProperty("trigger").GetString()} by {run.GetProperty("actor").GetString()}, {Time(run.GetProperty("startedAt"))}): "
            + $"{removed.GetProperty("events").GetInt64()} events, {removed.GetProperty("rejections").GetInt64()} refused events, {removed.GetProperty("timelineEntries").GetInt64()} profile timeline entries removed"));
        foreach (var rule in removed.GetProperty("byRule").EnumerateObject())
        {
            output.WriteLine($"  {rule.Name,-40} {rule.Value.GetInt64()}");
        }

        if (run.GetProperty("error") is { ValueKind: JsonValueKind.String } error)
        {
            output.WriteLine("  error: " + error.GetString());
        }
    }

    private static string Time(JsonElement value) =>
        value.ValueKind == JsonValueKind.Null ? "-" : value.GetDateTimeOffset().ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
