using System.CommandLine;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace Tandem.Cli;

/// <summary>The management API as the CLI sees it: a base URL and a token, errors printed as the server explained them.</summary>
internal sealed class ApiClient(Uri baseUrl, string? token) : IDisposable
{
    private readonly HttpClient _http = new() { BaseAddress = baseUrl, Timeout = TimeSpan.FromSeconds(30) };

    public static Option<string> UrlOption() => new("--url")
    {
        Description = "Tandem server URL (env TANDEM_URL)",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("TANDEM_URL") ?? "http://127.0.0.1:5080",
    };

    public static Option<string?> TokenOption() => new("--token")
    {
        Description = "API token (env TANDEM_ADMIN_TOKEN)",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("TANDEM_ADMIN_TOKEN"),
    };

    /// <summary>A command whose subcommands all talk to a server: --url and --token, on it and every subcommand.</summary>
    public static (Command Command, Option<string> Url, Option<string?> Token) Group(string name, string description)
    {
        var url = UrlOption();
        var token = TokenOption();
        url.Recursive = true;
        token.Recursive = true;
        return (new Command(name, description) { url, token }, url, token);
    }

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
    public static Command Leaf(string name, string description, Argument<string>[] arguments, Option<string> url, Option<string?> token,
        Action<JsonElement, TextWriter> print, Func<ApiClient, ParseResult, CancellationToken, Task<JsonElement>> call)
    {
        var command = new Command(name, description);
        foreach (var argument in arguments)
        {
            command.Arguments.Add(argument);
        }

        command.SetAction(async (result, cancellationToken) =>
        {
            using var api = new ApiClient(new Uri(result.GetValue(url)!), result.GetValue(token));
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
                await result.InvocationConfiguration.Error.WriteLineAsync($"error: cannot reach {result.GetValue(url)}: {ex.Message}");
                return 1;
            }
        });
        return command;
    }
}

internal sealed class ApiException(int status, string message) : Exception(message)
{
    public int Status { get; } = status;
}
