//! Filling the placeholders of the text material.

/// The values of one request's placeholders.
#[derive(Debug, Clone)]
pub(crate) struct Fill {
    /// `{企业}`: the asker's enterprise, or the one the resident complains about.
    pub enterprise: String,
    /// `{镇街}`: the town of the request's location.
    pub town: String,
    /// `{地址}`: street and number, e.g. `康华路12号`.
    pub address: String,
    /// `{姓名}`: the contact person.
    pub name: String,
    /// `{日期}`: a date such as `3月15日`.
    pub date: String,
    /// `{金额}`: an amount such as `12万元`.
    pub amount: String,
}

impl Fill {
    /// Replaces every known placeholder in `template`.
    pub fn apply(&self, template: &str) -> String {
        self.apply_with_date(template, &self.date)
    }

    /// As [`Self::apply`] with another `{日期}` (replies speak of later dates).
    pub fn apply_with_date(&self, template: &str, date: &str) -> String {
        template
            .replace("{企业}", &self.enterprise)
            .replace("{镇街}", &self.town)
            .replace("{地址}", &self.address)
            .replace("{姓名}", &self.name)
            .replace("{日期}", date)
            .replace("{金额}", &self.amount)
    }
}

/// `3月15日`.
pub(crate) fn month_day(date: chrono::NaiveDate) -> String {
    use chrono::Datelike;
    format!("{}月{}日", date.month(), date.day())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn fills_every_placeholder() {
        let fill = Fill {
            enterprise: "华凯灯饰有限公司".into(),
            town: "小榄镇".into(),
            address: "康华路12号".into(),
            name: "陈伟".into(),
            date: "3月15日".into(),
            amount: "12万元".into(),
        };
        let text = fill.apply("{姓名}在{镇街}{地址}，{企业}于{日期}欠{金额}，{日期}再催");
        assert_eq!(text, "陈伟在小榄镇康华路12号，华凯灯饰有限公司于3月15日欠12万元，3月15日再催");
        assert_eq!(fill.apply_with_date("{日期}", "4月1日"), "4月1日");
        assert_eq!(month_day(chrono::NaiveDate::from_ymd_opt(2026, 3, 5).unwrap()), "3月5日");
    }
}
