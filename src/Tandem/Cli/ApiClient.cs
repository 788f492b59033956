using System.CommandLine;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace Tandem.Cli;

/// <summary>The management API as the CLI sees it: a base URL and a token, errors printed as the server explained them.</summary>
internal sealed class ApiClient(Uri baseUrl, string? token) : IDisposable
{
    private readonly HttpClient _http = new() { BaseAddress = baseUrl, Timeout = TimeSpan.FromSeconds(30) };

    public const string DefaultUrl = "http://127.0.0.1:5080";

    // Neither option has a default value: System.CommandLine prints default values in --help and after
    // every argument error, and the token's would be the full-access secret. The environment is read
    // when the command runs instead, and the help names the variable.
    public static Option<string?> UrlOption() => new("--url") { Description = $"Tandem server URL [default: $TANDEM_URL or {DefaultUrl}]" };

    public static Option<string?> TokenOption() => new("--token") { Description = "API token [default: $TANDEM_ADMIN_TOKEN]" };

    /// <summary>The server to talk to: --url, else $TANDEM_URL, else the default address; null (and a line on error) when it is not a URL.</summary>
    public static Uri? ServerUrl(ParseResult result, Option<string?> url)
    {
        var text = result.GetValue(url) ?? Environment.GetEnvironmentVariable("TANDEM_URL") ?? DefaultUrl;
        if (Uri.TryCreate(text, UriKind.Absolute, out var address) && address.Scheme is "http" or "https")
        {
            return address;
        }

        result.InvocationConfiguration.Error.WriteLine($"error: --url '{text}' is not a server URL: write http://HOST:PORT, such as {DefaultUrl} (or set $TANDEM_URL).");
        return null;
    }

    public static string? Token(ParseResult result, Option<string?> token) =>
        result.GetValue(token) ?? Environment.GetEnvironmentVariable("TANDEM_ADMIN_TOKEN");

    /// <summary>A command whose subcommands all talk to a server; <see cref="Leaf"/> gives each one --url and --token.</summary>
    public static (Command Command, Option<string?> Url, Option<string?> Token) Group(string name, string description) =>
        (new Command(name, description), UrlOption(), TokenOption());

    public HttpClient Http => _http;

    public async Task<JsonElement> SendAsync(HttpMethod method, string path, object? body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path);
        if (!string.IsNullOrEmpty(token))
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }

        using var response = await _http.SendAsync(request, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new ApiException((int)response.StatusCode, Explain(text));
        }

        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }

    private static string Explain(string problemJson)
    {
        try
        {
            var problem = JsonDocument.Parse(problemJson).RootElement;
            var title = problem.TryGetProperty("title", out var t) ? t.GetString() : null;
            var detail = problem.TryGetProperty("detail", out var d) ? d.GetString() : null;
            return $"{title}: {detail}";
        }
        catch (JsonException)
        {
            return problemJson;
        }
    }

    public void Dispose() => _http.Dispose();

    /// <summary>A subcommand that calls the API once and prints the answer; errors become exit code 1 with the server's explanation.</summary>
    public static Command Leaf(string name, string description, Argument<string>[] arguments, Option<string?> url, Option<string?> token,
        Action<JsonElement, TextWriter> print, Func<ApiClient, ParseResult, CancellationToken, Task<JsonElement>> call)
    {
        var command = new Command(name, description) { url, token };
        foreach (var argument in arguments)
        {
            command.Arguments.Add(argument);
        }

        command.SetAction(async (result, cancellationToken) =>
        {
            if (ServerUrl(result, url) is not { } server)
            {
                return 1;
            }

            using var api = new ApiClient(server, Token(result, token));
            try
            {
                var answer = await call(api, result, cancellationToken);
                print(answer, result.InvocationConfiguration.Output);
                return 0;
            }
            catch (ApiException ex)
            {
                await result.InvocationConfiguration.Error.WriteLineAsync($"error ({ex.Status}): {ex.Message}");
                return 1;
            }
            catch (HttpRequestException ex)
            {
                await result.InvocationConfiguration.Error.WriteLineAsync($"error: cannot reach {server}: {ex.Message}");
                return 1;
            }
        });
        return command;
    }

    /// <summary>An answer as indented JSON, written with Tandem's encoder: <c>Zoë😀</c> and <c>+00:00</c> as they are.</summary>
    public static void PrintJson(JsonElement answer, TextWriter output) => output.WriteLine(JsonSerializer.Serialize(answer, Hosting.TandemJson.Indented));
}

internal sealed class ApiException(int status, string message) : Exception(message)
{
    public int Status { get; } = status;
}
