using System.Text.Json;

namespace Tandem.Hosting;

/// <summary>Reads a management request body, turning every way it can be wrong into a precise problem.</summary>
internal static class JsonBody
{
    private const int MaxBytes = 64 * 1024;

    public static async Task<(T? Value, IResult? Problem)> ReadAsync<T>(HttpRequest request)
        where T : class
    {
        if (request.ContentLength > MaxBytes)
        {
            return (null, Problems.Create(StatusCodes.Status413PayloadTooLarge, "body_too_large", "The request body is too large",
                $"Management requests are limited to {MaxBytes:N0} bytes.", "body"));
        }

        try
        {
            var options = request.HttpContext.RequestServices.GetRequiredService<Microsoft.Extensions.Options.IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>().Value.SerializerOptions;
            var value = await JsonSerializer.DeserializeAsync<T>(request.Body, options, request.HttpContext.RequestAborted);
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
}
