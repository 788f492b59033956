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

        try
        {
            var options = request.HttpContext.RequestServices.GetRequiredService<Microsoft.Extensions.Options.IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>().Value.SerializerOptions;
            var value = JsonSerializer.Deserialize<T>(body.Span, options);
            return value is null
                ? (null, Problems.Create(StatusCodes.Status400BadRequest, "missing_body", "The request needs a JSON body", "Send a JSON object in the body.", "body"))
                : (value, null);
        }
        catch (JsonException ex)
        {
            var where = ex.Path is { Length: > 0 } path ? path.TrimStart('$', '.') : "body";
            return (null, Problems.Create(StatusCodes.Status400BadRequest, "invalid_json", "The request body is not valid JSON for this call",
                $"At {(ex.Path ?? "$")} (line {ex.LineNumber + 1}, byte {ex.BytePositionInLine + 1}): {ex.Message.Split(". Path", 2)[0]}.",
                where.Length == 0 ? "body" : where));
        }
    }

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

        return (buffer.ToArray(), null);
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
