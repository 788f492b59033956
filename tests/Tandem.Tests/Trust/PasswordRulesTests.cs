using System.Net;
using Tandem.Tests.Support;
using Tandem.Trust;

namespace Tandem.Tests.Trust;

public sealed class PasswordRulesTests
{
    public static TheoryData<string, string> Weak => new()
    {
        { "aaaaaaaaaaaa", "different characters" },
        { "abababababab", "different characters" },
        { "abcdefabcdef", "repeated" },
        { "Passw0rd2026!!", "common" },
        { "P@ssw0rd1234", "common" },
        { "password1234", "common" },
        { "qwertyuiop12", "common" },
        { "iloveyou2026", "common" },
        { "1234567890123", "run of keys" },
        { "abcdefghijklm", "run of keys" },
        { "qwertyuiopas", "run of keys" },
        { "Summer2026!!!", "common" },
        { "tandem2026!!!", "common" },
        { "Correct Horse Battery Staple", "common" },
        { "xy7Kaaaaaqwz", "in a row" },
        { "short", "12 to 200" },
    };

    [Theory]
    [MemberData(nameof(Weak))]
    public void Weakness_NamesWhy(string password, string why) =>
        Assert.Contains(why, PasswordRules.Weakness(password), StringComparison.Ordinal);

    [Theory]
    [InlineData("correct horse battery")]
    [InlineData("a brand new passphrase")]
    [InlineData("taken over at last")]
    [InlineData("violet kettle under 9 maps")]
    [InlineData("Xq7#mT2$vL9p")]
    public void Weakness_PassphrasesAndRandomOnes_Pass(string password) => Assert.Null(PasswordRules.Weakness(password));

    [Fact]
    public void Weakness_GeneratedPasswords_AlwaysPass()
    {
        for (var i = 0; i < 1000; i++)
        {
            var generated = System.Security.Cryptography.RandomNumberGenerator.GetString("abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789", 20);
            Assert.Null(PasswordRules.Weakness(generated));
        }
    }

    [Fact]
    public async Task WeakPasswords_AreRefusedWhereverOneIsSet()
    {
        await using var server = await TandemServer.StartAsync();
        var create = await HttpAssert.ProblemAsync(await server.Http.SendAsync(server.Admin(HttpMethod.Post, "/api/v1/members",
            new { email = "ada@example.com", name = "Ada", roles = new[] { Roles.Marketer }, password = "aaaaaaaaaaaa" })), HttpStatusCode.BadRequest, "weak_password");
        Assert.Equal("password", create.GetProperty("field").GetString());
        Assert.Contains("different characters", create.GetProperty("detail").GetString(), StringComparison.Ordinal);

        var id = await server.CreateMemberAsync("ada@example.com", [Roles.Marketer]);
        var reset = await HttpAssert.ProblemAsync(await server.Http.SendAsync(server.Admin(HttpMethod.Post, $"/api/v1/members/{id}/password",
            new { password = "Password2026!" })), HttpStatusCode.BadRequest, "weak_password");
        Assert.Contains("common password", reset.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }
}
