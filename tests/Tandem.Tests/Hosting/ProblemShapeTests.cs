using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Tandem.Hosting;
using Tandem.Tests.Support;

namespace Tandem.Tests.Hosting;

/// <summary>Refusals say what was wrong in the caller's terms: the field, what it takes, what came; never a .NET type.</summary>
public sealed class ProblemShapeTests
{
    private static async Task<JsonElement> SendAsync(TandemServer server, HttpMethod method, string path, byte[]? body, HttpStatusCode expected, string code)
    {
        using var request = server.Admin(method, path);
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
        }

        var problem = await HttpAssert.ProblemAsync(await server.Http.SendAsync(request), expected, code);
        Assert.Equal(code, problem.GetProperty("code").GetString());
        return problem;
    }

    [Theory]
    [InlineData("POST", "/api/v1/sources", """[]""", "body", "The body must be an object ({…}); got a list.")]
    [InlineData("POST", "/api/v1/sources", """{"name":5}""", "name", "\"name\" must be text (a JSON string); got the number 5.")]
    [InlineData("PATCH", "/api/v1/sources/{source}", """{"enabled":"yes"}""", "enabled", "\"enabled\" must be true or false; got text \"yes\".")]
    [InlineData("POST", "/api/v1/tokens", """{"name":"t","scopes":"profiles:read"}""", "scopes", "\"scopes\" must be a list whose items are each text (a JSON string); got text \"profiles:read\".")]
    [InlineData("POST", "/api/v1/tokens", """{"name":"t","scopes":["a",7]}""", "scopes[1]", "\"scopes[1]\" must be text (a JSON string); got the number 7.")]
    [InlineData("POST", "/api/v1/sources", """{"name":""", "name", "The body is not valid JSON (line 1, byte 9): Expected depth to be zero at the end of the JSON payload. There is an open JSON object or array that should be closed. Send one JSON object.")]
    public async Task Body_OfTheWrongShape_IsExplainedInPlainWords(string method, string path, string body, string field, string detail)
    {
        await using var server = await TandemServer.StartAsync();

        var problem = await SendAsync(server, new HttpMethod(method), path.Replace("{source}", server.DefaultSourceId, StringComparison.Ordinal),
            Encoding.UTF8.GetBytes(body), HttpStatusCode.BadRequest, "invalid_json");

        Assert.Equal(field, problem.GetProperty("field").GetString());
        Assert.Equal(detail, problem.GetProperty("detail").GetString());
    }

    [Theory]
    [InlineData(new byte[] { (byte)'{', (byte)'"', (byte)'n', (byte)'a', (byte)'m', (byte)'e', (byte)'"', (byte)':', (byte)'"', 0xE9, (byte)'"', (byte)'}' })]
    [InlineData(new byte[] { (byte)'{', (byte)'"', (byte)'n', (byte)'a', (byte)'m', (byte)'e', (byte)'"', (byte)':', (byte)'"', (byte)'\\', (byte)'u', (byte)'d', (byte)'8', (byte)'3', (byte)'d', (byte)'"', (byte)'}' })]
    public async Task Body_WithTextThatIsNotUnicode_IsRefusedAsInvalidText(byte[] body)
    {
        await using var server = await TandemServer.StartAsync();

        var problem = await SendAsync(server, HttpMethod.Post, "/api/v1/sources", body, HttpStatusCode.BadRequest, "invalid_text");

        Assert.Equal("body", problem.GetProperty("field").GetString());
    }

    [Fact]
    public async Task Body_WithAByteOrderMark_IsRead()
    {
        await using var server = await TandemServer.StartAsync();
        using var request = server.Admin(HttpMethod.Post, "/api/v1/sources");
        request.Content = new ByteArrayContent([0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes("""{"name":"Web"}""")]);
        request.Content.Headers.TryAddWithoutValidation("Content-Type", "application/json");

        var created = await HttpAssert.JsonAsync(await server.Http.SendAsync(request), HttpStatusCode.Created);

        Assert.Equal("Web", created.GetProperty("name").GetString());
    }

    [Fact]
    public async Task NoRoute_AndNotFound_CarryACode()
    {
        await using var server = await TandemServer.StartAsync();

        await SendAsync(server, HttpMethod.Get, "/api/v1/nothing-here", null, HttpStatusCode.NotFound, "no_route");
        await SendAsync(server, HttpMethod.Get, "/api/v1/sources/src_nope", null, HttpStatusCode.NotFound, "not_found");
        await SendAsync(server, HttpMethod.Delete, "/api/v1/sources", null, HttpStatusCode.MethodNotAllowed, "method_not_allowed");
    }

    [Theory]
    [InlineData("Failed to bind parameter \"Nullable<int> limit\" from \"abc\".", "invalid_parameter", "limit", "limit must be a whole number; got 'abc'.")]
    [InlineData("Failed to bind parameter \"bool? enabled\" from \"maybe\".", "invalid_parameter", "enabled", "enabled must be true or false; got 'maybe'.")]
    [InlineData("Required parameter \"string search\" was not provided from query string.", "missing_parameter", "search", "Send search: a value of the form described at /openapi/v1.json.")]
    [InlineData("Implicit body inferred for parameter \"CreateSourceRequest body\" but no body was provided. Did you mean to use a Service instead?", "invalid_json", "body", "Send one JSON object as the body; the fields each call takes are described at /openapi/v1.json.")]
    public void Explain_FrameworkBindingFailure_NamesTheParameterWithoutItsType(string message, string code, string field, string detail)
    {
        var http = new DefaultHttpContext();
        http.Features.Set<IExceptionHandlerFeature>(new ExceptionHandlerFeature { Error = new BadHttpRequestException(message), Path = "/", RouteValues = null });
        var context = new ProblemDetailsContext { HttpContext = http, ProblemDetails = new ProblemDetails { Status = 500 } };

        FrameworkProblems.Explain(context);

        Assert.Equal(400, context.ProblemDetails.Status);
        Assert.Equal(code, context.ProblemDetails.Extensions["code"]);
        Assert.Equal(code, context.ProblemDetails.Extensions["reason"]);
        Assert.Equal(field, context.ProblemDetails.Extensions["field"]);
        Assert.Equal(detail, context.ProblemDetails.Detail);
    }

    [Fact]
    public void Explain_UnexpectedError_SaysSoWithoutTheException()
    {
        var http = new DefaultHttpContext();
        http.Features.Set<IExceptionHandlerFeature>(new ExceptionHandlerFeature { Error = new InvalidOperationException("Nullable object must have a value."), Path = "/" });
        var context = new ProblemDetailsContext { HttpContext = http, ProblemDetails = new ProblemDetails { Status = 500, Title = "An error occurred while processing your request." } };

        FrameworkProblems.Explain(context);

        Assert.Equal("internal_error", context.ProblemDetails.Extensions["code"]);
        Assert.DoesNotContain("Nullable", context.ProblemDetails.Detail, StringComparison.Ordinal);
    }
}
