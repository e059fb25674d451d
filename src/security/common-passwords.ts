// The most common passwords of 8+ characters from public breach corpora (SecLists top lists).
// A compact local list: a full breached-password check (k-anonymity API) needs network access
// and is left as an opt-in for later.
const COMMON = new Set(
  `password password1 password12 password123 password1234 passw0rd p@ssw0rd p@ssword 12345678 123456789 1234567890
  12345678910 123123123 1q2w3e4r 1q2w3e4r5t 1qaz2wsx qwertyuiop qwerty123 qwerty12 qwerty1234 asdfghjkl asdfasdf
  zaq12wsx iloveyou1 iloveyou sunshine1 princess1 football1 baseball1 welcome1 welcome123 letmein1 letmein123
  trustno1 superman1 starwars1 whatever1 11111111 00000000 88888888 87654321 abcd1234 abc12345 abcdefgh
  aa123456 admin123 administrator changeme changeme1 dragon123 monkey123 master123 shadow123 michael1 jennifer1
  computer internet football baseball sunshine princess superman starwars whatever michelle charlie1 jordan23
  password! qwerty!@# 1234qwer q1w2e3r4 q1w2e3r4t5 1qazxsw2 test1234 testtest secret123 mypassword
  freedom1 liverpool chelsea1 arsenal1 samsung1 google123 pokemon1 minecraft fuckyou1 azerty123 hello123
  loveme123 666666666 999999999 987654321 qazwsxedc zxcvbnm1 zxcvbnm123 asdf1234 killer123 matrix123`
    .split(/\s+/)
    .filter(Boolean),
);

export function isCommonPassword(password: string): boolean {
  return COMMON.has(password.toLowerCase());
}
