//! JSONata mode: `{% %}` expressions inside JSON values (`Arguments`, `Output`,
//! `Assign`, Choice `Condition`, ...). (OWNER: the lead)
