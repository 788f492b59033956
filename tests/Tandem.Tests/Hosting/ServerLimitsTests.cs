using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Tandem.Hosting;
using Tandem.Tests.Support;

namespace Tandem.Tests.Hosting;

/// <summary>
/// What a client that opens connections and trickles bytes meets. Kestrel measures body rates and header
/// timeouts on its own clock, which a test cannot advance; so the limits are read back from the running
/// server's options rather than waited out.
/// </summary>
public sealed class ServerLimitsTests
{
    [Fact]
    public async Task Serve_RunningServer_CutsSlowAndIdleConnections()
    {
        await using var server = await TandemServer.StartAsync();

        var limits = server.Services.GetRequiredService<IOptions<KestrelServerOptions>>().Value.Limits;

        Assert.NotNull(limits.MinRequestBodyDataRate);
        Assert.Equal(1024, limits.MinRequestBodyDataRate.BytesPerSecond);
        Assert.Equal(TimeSpan.FromSeconds(10), limits.MinRequestBodyDataRate.GracePeriod);
        Assert.Equal(TimeSpan.FromSeconds(10), limits.RequestHeadersTimeout);
        Assert.Equal(TimeSpan.FromSeconds(30), limits.KeepAliveTimeout);
        Assert.Equal(10_000, limits.MaxConcurrentConnections);
        Assert.Equal(0, limits.MaxConcurrentUpgradedConnections);
        Assert.Equal(1024 * 1024, limits.MaxRequestBodySize);
    }

    [Fact]
    public async Task Serve_MaxConnectionsOption_IsTheServersCap()
    {
        var data = Path.Combine(Path.GetTempPath(), "tandem-limits-" + Guid.NewGuid().ToString("N"));
        try
        {
            await using (var app = TandemHost.Build(new TandemOptions
            {
                DataDirectory = data,
                Urls = "http://127.0.0.1:0",
                AdminToken = TandemServer.AdminToken,
                Announce = TextWriter.Null,
                MaxConnections = 50,
            }))
            {
                await app.StartAsync();
                Assert.Equal(50, app.Services.GetRequiredService<IOptions<KestrelServerOptions>>().Value.Limits.MaxConcurrentConnections);
                await app.StopAsync();
            }
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(data, recursive: true);
        }
    }

    [Fact]
    public async Task ServeCommand_MaxConnectionsZero_RefusedBeforeStarting()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();

        var code = await Tandem.Cli.TandemCli.RunAsync(["serve", "--max-connections", "0", "--data", Path.Combine(Path.GetTempPath(), "never-" + Guid.NewGuid().ToString("N"))], output, error);

        Assert.NotEqual(0, code);
        Assert.Contains("--max-connections must be a whole number of at least 1.", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Batch_CompressedBodyDeclaringOverOneMegabyte_IsRefusedAsTooLarge()
    {
        await using var server = await TandemServer.StartAsync();
        var noise = new byte[1_200_000];
        new Random(7).NextBytes(noise); // does not compress: the body on the wire stays over 1 MB
        using var compressed = new MemoryStream();
        await using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            await gzip.WriteAsync(noise);
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, server.Url("/v1/batch")) { Content = new ByteArrayContent(compressed.ToArray()) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Content.Headers.ContentEncoding.Add("gzip");
        request.Headers.Authorization = TandemServer.Basic(server.WriteKey);

        await HttpAssert.ProblemAsync(await server.Http.SendAsync(request), HttpStatusCode.BadRequest, "batch_too_large");
    }
}
