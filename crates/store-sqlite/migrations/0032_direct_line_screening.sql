-- The spam screening (垃圾信息甄别) of direct-line items from the portal: the verdict (score, reasons,
-- whether it reads as spam) as JSON; NULL for letters and calls the office entered.
ALTER TABLE direct_line_items ADD COLUMN screening TEXT;
