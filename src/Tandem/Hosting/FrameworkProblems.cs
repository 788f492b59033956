using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Diagnostics;

namespace Tandem.Hosting;

/// <summary>
/// Problems the framework writes (a route that does not exist, a parameter it could not bind, an
/// unexpected error) put into Tandem's one shape: a <c>code</c> (and <c>reason</c>), a title and a detail
/// in plain words. The framework's own messages name .NET types (<c>Failed to bind parameter
/// "Nullable&lt;int&gt; limit"</c>); they are rewritten to say which parameter, what it takes and what was sent.
/// </summary>
internal static partial class FrameworkProblems
{
    [GeneratedRegex("^Failed to bind parameter \"(?<type>.+) (?<name>[^ ]+)\" from \"(?<value>.*)\"\\.$", RegexOptions.Singleline)]
    private static partial Regex BindFailure();

    [GeneratedRegex("^Required parameter \"(?<type>.+) (?<name>[^ ]+)\" was not provided from (?<source>.+)\\.$", RegexOptions.Singleline)]
    private static partial Regex MissingParameter();

    public static void Explain(ProblemDetailsContext context)
    {
        var problem = context.ProblemDetails;
        var http = context.HttpContext;
        var request = http.Request;
        if (http.Features.Get<IExceptionHandlerFeature>()?.Error is BadHttpRequestException bad)
        {
            var (reason, title, detail, field) = Describe(bad, http);
            problem.Status = bad.StatusCode;
            http.Response.StatusCode = bad.StatusCode;
            problem.Title = title;
            problem.Detail = detail;
            problem.Extensions["reason"] = reason;
            if (field is not null)
            {
                problem.Extensions["field"] = field;
            }
        }
        else if (problem.Status == StatusCodes.Status404NotFound && problem.Detail is null)
        {
            problem.Detail = $"No route matches {request.Method} {request.Path}. The API is described at /openapi/v1.json.";
            problem.Extensions["reason"] = "no_route";
        }
        else if (problem.Status == StatusCodes.Status405MethodNotAllowed)
        {
            problem.Detail = $"{request.Method} is not allowed on {request.Path}. The API is described at /openapi/v1.json.";
            problem.Extensions["reason"] = "method_not_allowed";
        }
        else if (problem.Status >= StatusCodes.Status500InternalServerError && !problem.Extensions.ContainsKey("reason"))
        {
            problem.Title = "Tandem could not answer this request";
            problem.Detail = "An unexpected error stopped this request; it is written to the server's log with the traceId of this answer. Retry; if it fails again, report it with the traceId.";
            problem.Extensions["reason"] = "internal_error";
        }

        if (!problem.Extensions.TryGetValue("reason", out var code) || code is not string)
        {
            // Whatever else the framework answers (415, 413…): a code from the status, so clients can always switch on one.
            code = StatusCode(problem.Status ?? http.Response.StatusCode);
            problem.Extensions["reason"] = code;
        }

        problem.Extensions["code"] = code;
        problem.Title ??= "The request was refused";
        problem.Detail ??= problem.Title;
    }

    private static (string Reason, string Title, string Detail, string? Field) Describe(BadHttpRequestException bad, HttpContext http)
    {
        if (BindFailure().Match(bad.Message) is { Success: true } bind)
        {
            var name = bind.Groups["name"].Value;
            return ("invalid_parameter", $"{name} is not usable",
                $"{name} must be {Expected(http, name, bind.Groups["type"].Value)}; got '{JsonWords.Echo(bind.Groups["value"].Value)}'.", name);
        }

        if (MissingParameter().Match(bad.Message) is { Success: true } missing)
        {
            var name = missing.Groups["name"].Value;
            return missing.Groups["source"].Value.Contains("body", StringComparison.OrdinalIgnoreCase)
                ? ("missing_body", "The request needs a JSON body", "Send a JSON object in the body; the API is described at /openapi/v1.json.", "body")
                : ("missing_parameter", $"{name} is required", $"Send {name}: {Expected(http, name, missing.Groups["type"].Value)}.", name);
        }

        if (bad.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return ("body_too_large", "The request body is too large", "Send a smaller body.", "body");
        }

        if (bad.Message.StartsWith("Expected a supported JSON media type", StringComparison.Ordinal))
        {
            return ("unsupported_media_type", "The body must be JSON", "Send the body as JSON with \"Content-Type: application/json\".", "Content-Type");
        }

        if (bad.Message.StartsWith("Implicit body inferred", StringComparison.Ordinal) || bad.Message.Contains("from the request body", StringComparison.Ordinal))
        {
            return ("invalid_json", "The request body is not JSON this call can read",
                "Send one JSON object as the body; the fields each call takes are described at /openapi/v1.json.", "body");
        }

        return ("bad_request", "The request could not be read",
            JsonBody.LooksLikeTypeName(bad.Message) ? "The request could not be read; check it against /openapi/v1.json." : bad.Message, null);
    }

    /// <summary>What the route's parameter takes, from the handler's own parameter type; its C# name says nothing to a caller.</summary>
    private static string Expected(HttpContext http, string name, string typeName)
    {
        var parameter = http.GetEndpoint()?.Metadata.GetMetadata<MethodInfo>()?.GetParameters().FirstOrDefault(p => p.Name == name);
        return parameter is not null ? JsonWords.Expected(parameter.ParameterType)
            : typeName.Replace("Nullable<", "", StringComparison.Ordinal).TrimEnd('?', '>') switch
            {
                "int" or "long" or "short" or "Int32" or "Int64" or "Int16" => "a whole number",
                "bool" or "Boolean" => "true or false",
                "decimal" or "double" or "float" or "Decimal" or "Double" or "Single" => "a number",
                _ => "a value of the form described at /openapi/v1.json",
            };
    }


    private static string StatusCode(int status) => status switch
    {
        StatusCodes.Status400BadRequest => "bad_request",
        StatusCodes.Status401Unauthorized => "unauthorized",
        StatusCodes.Status403Forbidden => "forbidden",
        StatusCodes.Status404NotFound => "not_found",
        StatusCodes.Status405MethodNotAllowed => "method_not_allowed",
        StatusCodes.Status409Conflict => "conflict",
        StatusCodes.Status413PayloadTooLarge => "body_too_large",
        StatusCodes.Status415UnsupportedMediaType => "unsupported_media_type",
        StatusCodes.Status429TooManyRequests => "too_many_requests",
        >= 500 => "internal_error",
        _ => "request_refused",
    };
}
