using Tandem.Tests.Cli;
using CliRunner = Tandem.Tests.Cli.Cli;

namespace Tandem.Tests.Trust;

/// <summary><c>serve</c> with a weak TANDEM_ADMIN_TOKEN: it does not start, and says how to make a good one.</summary>
[Collection(nameof(EnvironmentVariableTests))]
public sealed class AdminTokenCliTests
{
    [Fact]
    public async Task Serve_WithAWeakAdminToken_Exits2_SayingHowToMakeOne_WithoutPrintingIt()
    {
        var data = Path.Combine(Path.GetTempPath(), "tandem-weak-token-" + Guid.NewGuid().ToString("N"));
        var before = Environment.GetEnvironmentVariable("TANDEM_ADMIN_TOKEN");
        Environment.SetEnvironmentVariable("TANDEM_ADMIN_TOKEN", "change-me");
        try
        {
            var (code, _, error) = await CliRunner.RunAsync("serve", "--data", data, "--urls", "http://127.0.0.1:0");
            Assert.Equal(2, code);
            Assert.Contains("TANDEM_ADMIN_TOKEN is too weak", error, StringComparison.Ordinal);
            Assert.Contains("openssl rand -base64 32", error, StringComparison.Ordinal);
            Assert.DoesNotContain("change-me", error, StringComparison.Ordinal);
            Assert.False(Directory.Exists(data), "nothing is created for a server that does not start");
        }
        finally
        {
            Environment.SetEnvironmentVariable("TANDEM_ADMIN_TOKEN", before);
        }
    }
}
