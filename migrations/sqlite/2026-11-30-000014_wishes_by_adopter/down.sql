DROP INDEX wishes_adopter_created;
