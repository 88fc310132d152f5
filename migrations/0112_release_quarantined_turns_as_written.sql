-- A released conversation is rebuilt from its quarantined copy (failed_generations.quarantined_row, jsonb). Its turns
-- ride in that copy as text (turns_text) and go back into the json column as written. The release used to set them
-- through json_populate_record, which decodes the JSON's escapes on the way and so refused a "\u0000" that the json
-- column itself keeps: such a conversation could be quarantined but not released. Here the record's field is
-- assigned the text cast to json, which keeps it byte for byte.
--
-- Rows quarantined before 0085 have turns parsed in the copy and no turns_text; they come back from the jsonb as before.

CREATE FUNCTION brun_conversation_from_quarantine(p_row jsonb, p_released_from uuid)
    RETURNS conversations
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    v_conversation public.conversations;
BEGIN
    IF p_row ? 'turns_text' THEN
        v_conversation := jsonb_populate_record(NULL::public.conversations, p_row - 'turns' - 'turns_text');
        v_conversation.turns := (p_row ->> 'turns_text')::json;
    ELSE
        v_conversation := jsonb_populate_record(NULL::public.conversations, p_row);
    END IF;

    v_conversation.released_from := p_released_from;
    RETURN v_conversation;
END
$$;
