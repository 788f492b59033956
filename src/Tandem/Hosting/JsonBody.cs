using System.Text.Json;

namespace Tandem.Hosting;

/// <summary>Reads a management request body, turning every way it can be wrong into a precise problem.</summary>
internal static class JsonBody
{
    private const int MaxBytes = 64 * 1024;

    public static async Task<(T? Value, IResult? Problem)> ReadAsync<T>(HttpRequest request)
        where T : class
    {
        var (body, problem) = await ReadBytesAsync(request);
        if (problem is not null)
        {
            return (null, problem);
        }

        var options = request.HttpContext.RequestServices.GetRequiredService<Microsoft.Extensions.Options.IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>().Value.SerializerOptions;
        try
        {
            var value = JsonSerializer.Deserialize<T>(body.Span, options);
            return value is null
                ? (null, Problems.Create(StatusCodes.Status400BadRequest, "missing_body", "The request needs a JSON body", "Send a JSON object in the body.", "body"))
                : (value, null);
        }
        catch (JsonException ex)
        {
            return (null, Unreadable(typeof(T), body, ex, options));
        }
    }

    /// <summary>
    /// Why the body could not be read as <paramref name="target"/>, in plain words: where, what was
    /// expected there and what was sent. The serializer's own message names .NET types, so it is used
    /// only for JSON that does not parse at all, where it speaks of characters and positions.
    /// </summary>
    private static IResult Unreadable(Type target, ReadOnlyMemory<byte> body, JsonException ex, JsonSerializerOptions options)
    {
        var path = ex.Path ?? "$";
        var field = JsonWords.Field(path);
        if (SyntaxError(body, options) is { } syntax)
        {
            var where = syntax.LineNumber is { } line ? $" (line {line + 1}, byte {syntax.BytePositionInLine + 1})" : "";
            var why = syntax.Message.Split(" LineNumber:", 2)[0].Split(" Path:", 2)[0].TrimEnd('.', ' ');
            return Problems.Create(StatusCodes.Status400BadRequest, "invalid_json", "The request body is not valid JSON",
                $"The body is not valid JSON{where}: {(LooksLikeTypeName(why) ? "it cannot be read" : why)}. Send one JSON object.", field);
        }

        var expected = JsonWords.ExpectedAt(target, path, options) ?? "a value of another kind (see /openapi/v1.json)";
        var sent = JsonWords.SentAt(body, path) ?? "something else";
        var what = field == "body" ? "The body" : $"\"{field}\"";
        return Problems.Create(StatusCodes.Status400BadRequest, "invalid_json", "The request body does not fit this call",
            $"{what} must be {expected}; got {sent}.", field);
    }

    /// <summary>The reader's complaint when the body is not JSON at all; it speaks of characters and positions, never of types.</summary>
    private static JsonException? SyntaxError(ReadOnlyMemory<byte> body, JsonSerializerOptions options)
    {
        try
        {
            using var document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = options.MaxDepth == 0 ? 64 : options.MaxDepth });
            return null;
        }
        catch (JsonException syntax)
        {
            return syntax;
        }
    }

    /// <summary>True for text that names a .NET type, which no answer shows.</summary>
    internal static bool LooksLikeTypeName(string text) =>
        text.Contains("System.", StringComparison.Ordinal) || text.Contains("Nullable", StringComparison.Ordinal)
        || text.Contains('`', StringComparison.Ordinal) || text.Contains("Tandem.", StringComparison.Ordinal)
        || System.Text.RegularExpressions.Regex.IsMatch(text, @"\b[A-Z][A-Za-z0-9]*\+[A-Z][A-Za-z0-9]*\b");

    /// <summary>The body as text, for callers with a parser of their own; same checks as <see cref="ReadAsync{T}"/>.</summary>
    public static async Task<(string? Text, IResult? Problem)> ReadTextAsync(HttpRequest request)
    {
        var (body, problem) = await ReadBytesAsync(request);
        return problem is not null ? (null, problem) : (System.Text.Encoding.UTF8.GetString(body.Span), null);
    }

    private static async Task<(ReadOnlyMemory<byte> Body, IResult? Problem)> ReadBytesAsync(HttpRequest request)
    {
        // Only JSON: a browser form (text/plain, urlencoded, multipart) can be posted from any site
        // without a preflight, so accepting it would let another site sign a browser in or change things.
        if (request.ContentType is { Length: > 0 } type && !IsJson(type))
        {
            return (default, Problems.Create(StatusCodes.Status415UnsupportedMediaType, "unsupported_media_type", "The body must be JSON",
                $"Content-Type is '{type}'. Send the body as JSON with \"Content-Type: application/json\" (curl: -H 'Content-Type: application/json').", "Content-Type"));
        }

        // The limit holds whether or not the client said how long the body is (chunked bodies do not).
        using var buffer = new MemoryStream();
        var chunk = new byte[8192];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, request.HttpContext.RequestAborted)) > 0)
        {
            if (buffer.Length + read > MaxBytes)
            {
                return (default, Problems.Create(StatusCodes.Status413PayloadTooLarge, "body_too_large", "The request body is too large",
                    $"Management requests are limited to {MaxBytes:N0} bytes.", "body"));
            }

            buffer.Write(chunk, 0, read);
        }

        var body = buffer.ToArray();
        if (Tandem.Text.UnicodeRepair.NeedsRepair(body))
        {
            return (default, Problems.Create(StatusCodes.Status400BadRequest, "invalid_text", "The request body is not valid UTF-8 text",
                "The body holds bytes that are not UTF-8, or an escape of half a surrogate pair (such as \\ud83d without its partner). Send JSON encoded as UTF-8.", "body"));
        }

        // A byte-order mark is not JSON, but editors and some clients write one: it says UTF-8, which the body is.
        return (body.AsSpan().StartsWith("\uFEFF"u8) ? body.AsMemory(3) : body, null);
    }

    private static bool IsJson(string contentType)
    {
        var mediaType = contentType.Split(';', 2)[0].Trim();
        return mediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || mediaType.EndsWith("+json", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>A JSON string value's text; null for anything else (absent, a number, an object).</summary>
    public static string? Text(System.Text.Json.Nodes.JsonNode? node) =>
        node is System.Text.Json.Nodes.JsonValue value && value.GetValueKind() == System.Text.Json.JsonValueKind.String ? value.GetValue<string>() : null;
}
